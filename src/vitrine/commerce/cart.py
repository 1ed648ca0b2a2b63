"""Carts. A signed-in shopper has one cart, on every device; a guest's cart is found by a
random token in a cookie (only its SHA-256 is stored) and is merged into the shopper's own
cart when they sign in, so nothing added before signing in at checkout is lost."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from vitrine.accounts.actor import Actor
from vitrine.catalog.models import Product, ProductStatus, Variant
from vitrine.commerce.errors import ProductUnavailable
from vitrine.commerce.models import Cart, CartLine
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.core.errors import NotFound, NotSignedIn, ValidationFailed

MAX_QUANTITY = 99


@dataclass(frozen=True, slots=True)
class CartLineView:
    variant_id: int
    product_id: int
    merchant_id: int
    product_title: str
    sku: str
    options: dict[str, object]
    unit_price: int
    compare_at_price: int | None
    currency: str
    quantity: int
    stock_left: int
    show_id: int | None
    problem: str  # "" when it can be bought as it is; otherwise what to do about it


@dataclass(frozen=True, slots=True)
class CartView:
    lines: tuple[CartLineView, ...]

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CartService:
    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._db = db
        self._clock = clock

    async def add(
        self,
        actor: Actor,
        variant_id: int,
        *,
        quantity: int = 1,
        guest_token: str | None = None,
        show_id: int | None = None,
    ) -> CartView:
        """Add units of a variant (adding again adds up, to at most 99)."""
        if not 1 <= quantity <= MAX_QUANTITY:
            raise ValidationFailed({"quantity": f"Choose from 1 to {MAX_QUANTITY}"})
        async with self._db.write() as tx:
            variant = await tx.session.get(Variant, variant_id)
            product = await tx.session.get(Product, variant.product_id) if variant else None
            if variant is None or product is None or product.status == ProductStatus.DRAFT:
                raise NotFound("This product does not exist")
            if product.status != ProductStatus.ACTIVE:
                raise ProductUnavailable(f"“{product.title}” is no longer on sale")
            cart = await _cart(tx.session, actor, guest_token, create=True, now=self._clock())
            assert cart is not None
            line = await tx.session.scalar(
                select(CartLine).where(
                    CartLine.cart_id == cart.id, CartLine.variant_id == variant_id
                )
            )
            if line is None:
                tx.session.add(
                    CartLine(
                        cart_id=cart.id,
                        variant_id=variant_id,
                        quantity=quantity,
                        show_id=show_id,
                        added_at=self._clock(),
                    )
                )
            else:
                line.quantity = min(MAX_QUANTITY, line.quantity + quantity)
                line.show_id = show_id or line.show_id
            cart.updated_at = self._clock()
        return await self.view(actor, guest_token=guest_token)

    async def set_quantity(
        self, actor: Actor, variant_id: int, quantity: int, *, guest_token: str | None = None
    ) -> CartView:
        """Change a line's quantity; 0 removes it."""
        if not 0 <= quantity <= MAX_QUANTITY:
            raise ValidationFailed({"quantity": f"Choose from 0 to {MAX_QUANTITY}"})
        async with self._db.write() as tx:
            cart = await _cart(tx.session, actor, guest_token, create=False, now=self._clock())
            if cart is not None:
                line = await tx.session.scalar(
                    select(CartLine).where(
                        CartLine.cart_id == cart.id, CartLine.variant_id == variant_id
                    )
                )
                if line is not None and quantity == 0:
                    await tx.session.delete(line)
                elif line is not None:
                    line.quantity = quantity
        return await self.view(actor, guest_token=guest_token)

    async def view(self, actor: Actor, *, guest_token: str | None = None) -> CartView:
        async with self._db.read() as session:
            cart = await _cart(session, actor, guest_token, create=False, now=self._clock())
            if cart is None:
                return CartView(())
            return CartView(tuple(await cart_lines(session, cart.id)))

    async def merge_guest_cart(self, user_id: int, guest_token: str) -> CartView:
        """At sign-in: move the guest cart's lines into the user's cart (quantities add up)."""
        now = self._clock()
        async with self._db.write() as tx:
            guest = await tx.session.scalar(
                select(Cart).where(Cart.guest_token == hash_token(guest_token))
            )
            if guest is not None:
                mine = await tx.session.scalar(select(Cart).where(Cart.user_id == user_id))
                if mine is None:
                    guest.user_id, guest.guest_token, guest.updated_at = user_id, None, now
                else:
                    theirs = (
                        await tx.session.scalars(
                            select(CartLine).where(CartLine.cart_id == guest.id)
                        )
                    ).all()
                    for line in theirs:
                        existing = await tx.session.scalar(
                            select(CartLine).where(
                                CartLine.cart_id == mine.id, CartLine.variant_id == line.variant_id
                            )
                        )
                        if existing is None:
                            line.cart_id = mine.id
                        else:
                            existing.quantity = min(MAX_QUANTITY, existing.quantity + line.quantity)
                            await tx.session.delete(line)
                    await tx.session.flush()
                    await tx.session.delete(guest)
                    mine.updated_at = now
        return await self.view(Actor(user_id=user_id))


async def _cart(
    session: AsyncSession, actor: Actor, guest_token: str | None, *, create: bool, now: datetime
) -> Cart | None:
    if actor.user_id is not None:
        cart = await session.scalar(select(Cart).where(Cart.user_id == actor.user_id))
        if cart is None and create:
            cart = Cart(user_id=actor.user_id, created_at=now, updated_at=now)
            session.add(cart)
            await session.flush()
        return cart
    if not guest_token:
        if create:
            raise NotSignedIn("Sign in, or allow the cart cookie, to keep a cart")
        return None
    hashed = hash_token(guest_token)
    cart = await session.scalar(select(Cart).where(Cart.guest_token == hashed))
    if cart is None and create:
        cart = Cart(guest_token=hashed, created_at=now, updated_at=now)
        session.add(cart)
        await session.flush()
    return cart


async def cart_lines(session: AsyncSession, cart_id: int) -> list[CartLineView]:
    """The cart's lines with today's price, stock and whether each can still be bought."""
    rows = await session.execute(
        select(CartLine, Variant, Product)
        .join(Variant, Variant.id == CartLine.variant_id)
        .join(Product, Product.id == Variant.product_id)
        .where(CartLine.cart_id == cart_id)
        .order_by(CartLine.added_at, CartLine.id)
    )
    views = []
    for line, variant, product in rows:
        if product.status != ProductStatus.ACTIVE:
            problem = f"“{product.title}” is no longer on sale; remove it to continue"
        elif variant.stock == 0:
            problem = f"“{product.title}” is sold out; remove it to continue"
        elif variant.stock < line.quantity:
            problem = f"Only {variant.stock} left of “{product.title}”"
        else:
            problem = ""
        views.append(
            CartLineView(
                variant_id=variant.id,
                product_id=product.id,
                merchant_id=product.merchant_id,
                product_title=product.title,
                sku=variant.sku,
                options=dict(variant.options or {}),
                unit_price=variant.price,
                compare_at_price=variant.compare_at_price,
                currency=product.currency,
                quantity=line.quantity,
                stock_left=variant.stock,
                show_id=line.show_id,
                problem=problem,
            )
        )
    return views


async def clear_lines(session: AsyncSession, cart_id: int, variant_ids: list[int]) -> None:
    await session.execute(
        delete(CartLine).where(CartLine.cart_id == cart_id, CartLine.variant_id.in_(variant_ids))
    )
