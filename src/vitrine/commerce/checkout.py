"""Checkout: the shopper's cart becomes one order per merchant, pending payment, with its
units held (reservations) until payment or expiry. Totals: goods + the merchant's flat
shipping + tax at the merchant's rate on the goods.

Stock is taken with conditional updates in variant-id order, in one transaction: either
every line is held or nothing is. Payment happens later, outside this transaction."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from vitrine.accounts.actor import Actor
from vitrine.accounts.models import Merchant
from vitrine.catalog.models import Variant
from vitrine.commerce.address import ShippingAddress
from vitrine.commerce.announce import Announcer
from vitrine.commerce.calculations import Totals, order_totals
from vitrine.commerce.cart import CartLineView, cart_lines, clear_lines
from vitrine.commerce.errors import ProductUnavailable, SoldOut
from vitrine.commerce.models import (
    Cart,
    Order,
    OrderLine,
    OrderStatus,
    Reservation,
    ReservationStatus,
)
from vitrine.commerce.orders import add_event
from vitrine.commerce.policy import BuyingPolicy
from vitrine.commerce.reservations import take_stock
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.core.errors import Conflict, RateLimited, Unavailable, ValidationFailed
from vitrine.core.ratelimit import RateLimiter, seconds_text

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 40
ORDERS_BURST = 10  # checkouts one shopper may place in a row, then
ORDERS_WINDOW_S = 600.0  # ... one every ORDERS_WINDOW_S / ORDERS_BURST seconds (1 a minute)


@dataclass(frozen=True, slots=True)
class MerchantSummary:
    """One merchant's part of the cart, as the order summary shows it."""

    merchant_id: int
    brand_name: str
    lines: tuple[CartLineView, ...]
    totals: Totals


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order_id: int
    merchant_id: int
    totals: Totals
    hold_expires_at: datetime


class CheckoutService:
    def __init__(
        self,
        db: Database,
        announcer: Announcer,
        *,
        hold: timedelta = timedelta(minutes=10),
        buying: BuyingPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._db = db
        self._announcer = announcer
        self._hold = hold
        self._buying = buying or BuyingPolicy()
        self._clock = clock
        self._limiter = limiter

    async def summary(self, actor: Actor) -> list[MerchantSummary]:
        """The order summary: the signed-in shopper's cart grouped by merchant, with totals."""
        user_id = actor.require_signed_in()
        async with self._db.read() as session:
            cart = await session.scalar(select(Cart).where(Cart.user_id == user_id))
            if cart is None:
                return []
            lines = await cart_lines(session, cart.id)
            merchants = {
                merchant.id: merchant
                for merchant in await session.scalars(
                    select(Merchant).where(Merchant.id.in_({line.merchant_id for line in lines}))
                )
            }
        return [
            MerchantSummary(
                merchant_id,
                merchants[merchant_id].brand_name,
                tuple(group),
                _totals(group, merchants[merchant_id]),
            )
            for merchant_id, group in _by_merchant(lines).items()
        ]

    async def place_order(
        self,
        actor: Actor,
        *,
        address: ShippingAddress,
        idempotency_key: str,
        platform: str,
    ) -> list[PlacedOrder]:
        """Turn the cart into orders pending payment, holding their stock. Sending the same
        key again (a double tap, a retried request) returns the same orders."""
        self._buying.check(platform)
        user_id = actor.require_signed_in()
        key = idempotency_key.strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            raise ValidationFailed(
                {"idempotency_key": f"Send a key of 1 to {MAX_KEY_LENGTH} characters"}
            )
        clean = address.checked()
        await self._keep_pace(user_id)
        now = self._clock()
        expires_at = now + self._hold
        stock_left: dict[int, tuple[int | None, int]] = {}
        async with self._db.write() as tx:
            session = tx.session
            already = (
                await session.scalars(
                    select(Order).where(
                        Order.buyer_id == user_id,
                        Order.idempotency_key.startswith(f"{key}:", autoescape=True),
                    )
                )
            ).all()
            if already:
                return await self._placed(list(already))
            cart = await session.scalar(select(Cart).where(Cart.user_id == user_id))
            lines = await cart_lines(session, cart.id) if cart else []
            if not lines:
                raise Conflict("Your cart is empty")
            for line in lines:
                if line.problem and "no longer on sale" in line.problem:
                    raise ProductUnavailable(line.problem)
            # Lock order: variants by id, every time.
            for line in sorted(lines, key=lambda item: item.variant_id):
                left = await take_stock(session, line.variant_id, line.quantity)
                if left is None:
                    stock = await session.scalar(
                        select(Variant.stock).where(Variant.id == line.variant_id)
                    )
                    if not stock:
                        raise SoldOut(f"“{line.product_title}” is sold out")
                    raise SoldOut(f"Only {stock} left of “{line.product_title}”")
                stock_left[line.variant_id] = (line.show_id, left)
            placed: list[Order] = []
            for merchant_id, group in _by_merchant(lines).items():
                merchant = await session.get(Merchant, merchant_id)
                assert merchant is not None
                totals = _totals(group, merchant)
                shows = {line.show_id for line in group if line.show_id is not None}
                order = Order(
                    merchant_id=merchant_id,
                    buyer_id=user_id,
                    show_id=shows.pop() if len(shows) == 1 else None,
                    idempotency_key=f"{key}:{merchant_id}",
                    status=OrderStatus.PENDING_PAYMENT,
                    currency=totals.currency,
                    subtotal=totals.subtotal,
                    shipping=totals.shipping,
                    tax=totals.tax,
                    total=totals.total,
                    created_at=now,
                    **clean.columns(),
                )
                session.add(order)
                await session.flush()
                for line in group:
                    session.add(
                        OrderLine(
                            order_id=order.id,
                            variant_id=line.variant_id,
                            product_title=line.product_title,
                            sku=line.sku,
                            unit_price=line.unit_price,
                            quantity=line.quantity,
                        )
                    )
                    session.add(
                        Reservation(
                            order_id=order.id,
                            variant_id=line.variant_id,
                            buyer_id=user_id,
                            quantity=line.quantity,
                            status=ReservationStatus.HELD,
                            created_at=now,
                            expires_at=expires_at,
                        )
                    )
                await add_event(session, order.id, "placed", user_id, actor.display_name, now)
                placed.append(order)
            assert cart is not None
            await clear_lines(session, cart.id, [line.variant_id for line in lines])
            result = [
                PlacedOrder(
                    order.id,
                    order.merchant_id,
                    Totals(order.currency, order.subtotal, order.shipping, order.tax),
                    expires_at,
                )
                for order in placed
            ]
        for variant_id, (show_id, left) in stock_left.items():
            await self._announcer.stock_changed(show_id, variant_id, left)
        return result

    async def _keep_pace(self, user_id: int) -> None:
        """A person places a few orders in a row; a script placing hundreds holds the stock
        from everyone else. Counted per shopper; if the limits' Redis is away, checkout goes on
        (the orders and their stock are the database's, which is what matters here)."""
        if self._limiter is None:
            return
        try:
            wait = await self._limiter.hit(
                f"orders:{user_id}", limit=ORDERS_BURST, window_s=ORDERS_WINDOW_S
            )
        except Unavailable:
            log.warning("checkout pace not counted: the rate limits are unavailable")
            return
        if wait:
            raise RateLimited(
                f"Too many orders in a row; you can place another in {seconds_text(wait)}",
                retry_after_s=math.ceil(wait),
            )

    async def _placed(self, orders: list[Order]) -> list[PlacedOrder]:
        async with self._db.read() as session:
            rows = await session.execute(
                select(Reservation.order_id, Reservation.expires_at).where(
                    Reservation.order_id.in_([order.id for order in orders])
                )
            )
            holds = {order_id: expires_at for order_id, expires_at in rows.all()}
        return [
            PlacedOrder(
                order.id,
                order.merchant_id,
                Totals(order.currency, order.subtotal, order.shipping, order.tax),
                holds.get(order.id, order.created_at),
            )
            for order in sorted(orders, key=lambda order: order.id)
        ]


def _by_merchant(lines: list[CartLineView]) -> dict[int, list[CartLineView]]:
    groups: dict[int, list[CartLineView]] = {}
    for line in lines:
        groups.setdefault(line.merchant_id, []).append(line)
    return groups


def _totals(lines: list[CartLineView], merchant: Merchant) -> Totals:
    currencies = {line.currency for line in lines}
    if len(currencies) != 1:
        raise Conflict(
            f"{merchant.brand_name} sells in several currencies; check out one at a time"
        )
    return order_totals(
        sum(line.unit_price * line.quantity for line in lines),
        shipping_flat=merchant.shipping_flat,
        tax_bps=merchant.tax_bps,
        currency=currencies.pop(),
    )
