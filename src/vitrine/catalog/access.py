"""Who may touch a product: its merchant's owner and staff. Someone else's product looks
exactly like a missing one, so ids do not reveal what other brands hold."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vitrine.accounts.actor import Actor
from vitrine.catalog.models import Product, Variant
from vitrine.core.errors import NotFound, NotSignedIn


async def own_product(
    session: AsyncSession, actor: Actor, product_id: int, *, for_update: bool = False
) -> Product:
    """The product if `actor` manages its merchant, else NotFound (or NotSignedIn/NotAllowed)."""
    if not actor.signed_in:
        raise NotSignedIn("Sign in to manage this brand")
    query = select(Product).where(Product.id == product_id)
    if for_update:
        query = query.with_for_update()
    product = await session.scalar(query)
    if product is None or not actor.works_for(product.merchant_id):
        raise NotFound(f"Product #{product_id} is not in your catalog")
    actor.require_manager(product.merchant_id)  # a host of this brand: NotAllowed
    return product


async def own_variant(session: AsyncSession, actor: Actor, variant_id: int) -> Variant:
    if not actor.signed_in:
        raise NotSignedIn("Sign in to manage this brand")
    variant = await session.scalar(select(Variant).where(Variant.id == variant_id))
    if variant is None or not actor.works_for(variant.merchant_id):
        raise NotFound(f"Variant #{variant_id} is not in your catalog")
    actor.require_manager(variant.merchant_id)
    return variant
