"""Read-only views of the catalog used by shoppers' pages: a brand's shop, a show's lineup."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from vitrine.catalog.models import Product, ProductImage, ProductStatus, Variant
from vitrine.core.db import Database
from vitrine.core.money import format_amount
from vitrine.shows.models import LineupItem


@dataclass(frozen=True, slots=True)
class ShopItem:
    product: Product
    price_from: int
    compare_at: int | None
    in_stock: int
    thumbnail: str | None

    @property
    def price_text(self) -> str:
        return format_amount(self.price_from, self.product.currency)

    @property
    def compare_at_text(self) -> str | None:
        return (
            None
            if self.compare_at is None
            else format_amount(self.compare_at, self.product.currency)
        )


async def shop_products(
    db: Database, merchant_id: int, *, show_id: int | None = None, limit: int = 60
) -> list[ShopItem]:
    """Active products of a brand (or of one show's lineup, in lineup order)."""
    query = select(Product).where(
        Product.merchant_id == merchant_id, Product.status == ProductStatus.ACTIVE
    )
    if show_id is not None:
        query = (
            query.join(LineupItem, LineupItem.product_id == Product.id)
            .where(LineupItem.show_id == show_id)
            .order_by(LineupItem.position)
        )
    else:
        query = query.order_by(Product.updated_at.desc(), Product.id)
    async with db.read() as session:
        products = list((await session.scalars(query.limit(limit))).all())
        ids = [product.id for product in products]
        variants = (await session.scalars(select(Variant).where(Variant.product_id.in_(ids)))).all()
        images = (
            await session.scalars(
                select(ProductImage)
                .where(ProductImage.product_id.in_(ids))
                .order_by(ProductImage.position, ProductImage.id)
            )
        ).all()
    by_product: dict[int, list[Variant]] = {}
    for variant in variants:
        by_product.setdefault(variant.product_id, []).append(variant)
    thumbs: dict[int, str] = {}
    for image in images:
        thumbs.setdefault(image.product_id, image.thumbnail_path)
    items = []
    for product in products:
        own = by_product.get(product.id, [])
        cheapest = min(own, key=lambda v: v.price, default=None)
        items.append(
            ShopItem(
                product=product,
                price_from=cheapest.price if cheapest else 0,
                compare_at=cheapest.compare_at_price if cheapest else None,
                in_stock=sum(v.stock for v in own),
                thumbnail=thumbs.get(product.id),
            )
        )
    return items
