"""Orders after checkout: pending payment → paid → fulfilled (with a tracking number) →
delivered; cancelled before payment; refunded (with restock) by the merchant. Every change
appends an event to the order's history, which is never edited."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vitrine.accounts.actor import Actor
from vitrine.commerce.address import ShippingAddress
from vitrine.commerce.announce import Announcer
from vitrine.commerce.gateway import PaymentProvider
from vitrine.commerce.ledger import record_refund
from vitrine.commerce.models import (
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentStatus,
    Reservation,
    ReservationStatus,
)
from vitrine.commerce.reservations import put_back_stock, release_reservations
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from vitrine.core.money import format_amount

REFUNDABLE = (OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.DELIVERED)


@dataclass(frozen=True, slots=True)
class OrderLineView:
    variant_id: int
    product_title: str
    sku: str
    unit_price: int
    quantity: int


@dataclass(frozen=True, slots=True)
class OrderView:
    id: int
    merchant_id: int
    buyer_id: int
    show_id: int | None
    deal_id: int | None
    status: OrderStatus
    currency: str
    subtotal: int
    shipping: int
    tax: int
    total: int
    address: ShippingAddress | None
    tracking_number: str
    created_at: datetime
    paid_at: datetime | None
    lines: tuple[OrderLineView, ...]


@dataclass(frozen=True, slots=True)
class OrderEventView:
    kind: str
    detail: str
    actor: str
    at: datetime


async def add_event(
    session: AsyncSession,
    order_id: int,
    kind: str,
    actor_user_id: int | None,
    actor_label: str,
    at: datetime,
    detail: str = "",
) -> None:
    session.add(
        OrderEvent(
            order_id=order_id,
            kind=kind,
            detail=detail,
            actor_user_id=actor_user_id,
            actor_label=actor_label[:60] or "someone",
            at=at,
        )
    )


async def require_buyer(session: AsyncSession, order_id: int, buyer_id: int) -> Order:
    """The order, if it is this shopper's; NotFound otherwise (no hint that it exists)."""
    order = await session.get(Order, order_id)
    if order is None or order.buyer_id != buyer_id:
        raise NotFound("This order does not exist")
    return order


class OrderService:
    def __init__(
        self,
        db: Database,
        provider: PaymentProvider,
        announcer: Announcer,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._db = db
        self._provider = provider
        self._announcer = announcer
        self._clock = clock

    # -- the shopper --------------------------------------------------------------------

    async def set_shipping_address(
        self, actor: Actor, order_id: int, address: ShippingAddress
    ) -> OrderView:
        """Where to ship an order won in a deal (checkout from the cart asks for it up front)."""
        buyer_id = actor.require_signed_in()
        clean = address.checked()
        async with self._db.write() as tx:
            order = await require_buyer(tx.session, order_id, buyer_id)
            if order.status != OrderStatus.PENDING_PAYMENT:
                raise Conflict("The address can only change before payment")
            for name, value in clean.columns().items():
                setattr(order, name, value)
            await add_event(
                tx.session, order.id, "address_set", buyer_id, actor.display_name, self._clock()
            )
        return await self.order(actor, order_id)

    async def my_orders(self, actor: Actor, *, limit: int = 100) -> list[OrderView]:
        """The shopper's order history, newest first."""
        buyer_id = actor.require_signed_in()
        async with self._db.read() as session:
            orders = (
                await session.scalars(
                    select(Order)
                    .where(Order.buyer_id == buyer_id)
                    .order_by(Order.created_at.desc(), Order.id.desc())
                    .limit(limit)
                )
            ).all()
            return await _views(session, list(orders))

    async def order(self, actor: Actor, order_id: int) -> OrderView:
        """One order, for its shopper, the merchant's staff or the operator."""
        async with self._db.read() as session:
            order = await session.get(Order, order_id)
            if order is None or not _may_see(actor, order):
                raise NotFound("This order does not exist")
            (view,) = await _views(session, [order])
            return view

    async def history(self, actor: Actor, order_id: int) -> list[OrderEventView]:
        """Every change of an order, oldest first."""
        async with self._db.read() as session:
            order = await session.get(Order, order_id)
            if order is None or not _may_see(actor, order):
                raise NotFound("This order does not exist")
            events = await session.scalars(
                select(OrderEvent)
                .where(OrderEvent.order_id == order_id)
                .order_by(OrderEvent.at, OrderEvent.id)
            )
            return [OrderEventView(e.kind, e.detail, e.actor_label, e.at) for e in events]

    async def cancel(self, actor: Actor, order_id: int) -> OrderView:
        """Cancel an order not yet paid (its shopper or the merchant); the stock comes back."""
        actor.require_signed_in()
        now = self._clock()
        async with self._db.write() as tx:
            order = await tx.session.get(Order, order_id, with_for_update=True)
            if order is None or not _may_see(actor, order):
                raise NotFound("This order does not exist")
            if order.buyer_id != actor.user_id and not actor.manages(order.merchant_id):
                raise NotAllowed("Only the shopper or the brand's staff can cancel this order")
            if order.status != OrderStatus.PENDING_PAYMENT:
                raise Conflict(
                    "Only an order waiting for payment can be cancelled; ask for a refund instead"
                )
            order.status = OrderStatus.CANCELLED
            stock = await release_reservations(tx.session, order.id)
            await add_event(
                tx.session, order.id, "cancelled", actor.user_id, actor.display_name, now
            )
            show_id = order.show_id
        for variant_id, left in stock.items():
            await self._announcer.stock_changed(show_id, variant_id, left)
        return await self.order(actor, order_id)

    async def cancel_abandoned(self, *, older_than: timedelta = timedelta(days=1)) -> int:
        """Cancel orders still waiting for payment long after their hold was released (the app
        runs it now and then). A payment arriving later is refunded. Returns how many."""
        now = self._clock()
        still_held = select(Reservation.id).where(
            Reservation.order_id == Order.id, Reservation.status == ReservationStatus.HELD
        )
        async with self._db.write() as tx:
            abandoned = await tx.session.execute(
                update(Order)
                .where(
                    Order.status == OrderStatus.PENDING_PAYMENT,
                    Order.created_at <= now - older_than,
                    ~still_held.exists(),
                )
                .values(status=OrderStatus.CANCELLED)
                .returning(Order.id)
            )
            ids = list(abandoned.scalars())
            for order_id in ids:
                await add_event(
                    tx.session,
                    order_id,
                    "cancelled",
                    None,
                    "system",
                    now,
                    "Not paid after its hold expired",
                )
        return len(ids)

    # -- the merchant -------------------------------------------------------------------

    async def fulfil(self, actor: Actor, order_id: int, *, tracking_number: str) -> OrderView:
        """The parcel has left: paid → fulfilled, with its tracking number."""
        tracking = tracking_number.strip()
        if not tracking or len(tracking) > 100:
            raise ValidationFailed({"tracking_number": "Enter the carrier's tracking number"})
        await self._move(
            actor,
            order_id,
            OrderStatus.PAID,
            OrderStatus.FULFILLED,
            "fulfilled",
            tracking,
            {"tracking_number": tracking},
        )
        return await self.order(actor, order_id)

    async def mark_delivered(self, actor: Actor, order_id: int) -> OrderView:
        await self._move(actor, order_id, OrderStatus.FULFILLED, OrderStatus.DELIVERED, "delivered")
        return await self.order(actor, order_id)

    async def refund(self, actor: Actor, order_id: int, *, restock: bool = True) -> OrderView:
        """Give the shopper their money back (merchant staff or operator): the provider
        refunds first, then the order is refunded, its ledger entries reversed and, unless
        told otherwise, its units go back to stock."""
        async with self._db.read() as session:
            order = await session.get(Order, order_id)
            if order is None:
                raise NotFound("This order does not exist")
            _require_staff(actor, order)
            if order.status not in REFUNDABLE:
                raise Conflict(
                    f"An order that is {order.status.value.replace('_', ' ')} cannot be refunded"
                )
            payment = await session.scalar(
                select(Payment).where(
                    Payment.order_id == order_id, Payment.status == PaymentStatus.SUCCEEDED
                )
            )
        if payment is not None:  # money first: never mark refunded what was not given back
            await self._provider.refund(reference=payment.reference, amount=payment.amount)
        now = self._clock()
        stock: dict[int, int] = {}
        async with self._db.write() as tx:
            changed = await tx.session.execute(
                update(Order)
                .where(Order.id == order_id, Order.status.in_(REFUNDABLE))
                .values(status=OrderStatus.REFUNDED)
                .returning(Order.show_id)
            )
            row = changed.one_or_none()
            if row is None:
                raise Conflict("This order has just been refunded")
            show_id = row[0]
            if payment is not None:
                await tx.session.execute(
                    update(Payment)
                    .where(Payment.id == payment.id)
                    .values(status=PaymentStatus.REFUNDED, updated_at=now)
                )
            await record_refund(tx.session, order_id=order_id, at=now)
            if restock:
                sold = await tx.session.execute(
                    update(Reservation)
                    .where(
                        Reservation.order_id == order_id,
                        Reservation.status == ReservationStatus.CONVERTED,
                    )
                    .values(status=ReservationStatus.RELEASED)
                    .returning(Reservation.variant_id, Reservation.quantity)
                )
                for variant_id, quantity in sorted(sold.all()):
                    stock[variant_id] = await put_back_stock(tx.session, variant_id, quantity)
            detail = "Restocked" if restock and stock else ""
            await add_event(
                tx.session, order_id, "refunded", actor.user_id, actor.display_name, now, detail
            )
        for variant_id, left in stock.items():
            await self._announcer.stock_changed(show_id, variant_id, left)
        return await self.order(actor, order_id)

    async def merchant_orders(
        self,
        actor: Actor,
        merchant_id: int,
        *,
        status: OrderStatus | None = None,
        show_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 500,
    ) -> list[OrderView]:
        """The merchant's orders, newest first, filtered by status, show and period."""
        actor.require_manager(merchant_id)
        query = select(Order).where(Order.merchant_id == merchant_id)
        if status is not None:
            query = query.where(Order.status == status)
        if show_id is not None:
            query = query.where(Order.show_id == show_id)
        if since is not None:
            query = query.where(Order.created_at >= since)
        if until is not None:
            query = query.where(Order.created_at < until)
        async with self._db.read() as session:
            orders = (
                await session.scalars(
                    query.order_by(Order.created_at.desc(), Order.id.desc()).limit(limit)
                )
            ).all()
            return await _views(session, list(orders))

    async def export_csv(self, actor: Actor, merchant_id: int, **filters: object) -> str:
        """The same list as `merchant_orders`, one row per order line, as CSV."""
        orders = await self.merchant_orders(actor, merchant_id, limit=100_000, **filters)  # type: ignore[arg-type]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "order",
                "created_at",
                "status",
                "show",
                "sku",
                "product",
                "quantity",
                "unit_price",
                "order_total",
                "currency",
                "ship_name",
                "ship_city",
                "ship_country",
                "tracking_number",
            ]
        )
        for order in orders:
            for line in order.lines:
                writer.writerow(
                    [
                        order.id,
                        order.created_at.isoformat(),
                        order.status.value,
                        order.show_id or "",
                        line.sku,
                        _cell(line.product_title),
                        line.quantity,
                        format_amount(line.unit_price, order.currency).split(" ")[0],
                        format_amount(order.total, order.currency).split(" ")[0],
                        order.currency,
                        _cell(order.address.name if order.address else ""),
                        _cell(order.address.city if order.address else ""),
                        order.address.country if order.address else "",
                        _cell(order.tracking_number),
                    ]
                )
        return out.getvalue()

    async def _move(
        self,
        actor: Actor,
        order_id: int,
        before: OrderStatus,
        after: OrderStatus,
        kind: str,
        detail: str = "",
        values: dict[str, str] | None = None,
    ) -> None:
        now = self._clock()
        async with self._db.write() as tx:
            order = await tx.session.get(Order, order_id, with_for_update=True)
            if order is None:
                raise NotFound("This order does not exist")
            _require_staff(actor, order)
            if order.status != before:
                raise Conflict(
                    f"Only a {before.value.replace('_', ' ')} order can be marked "
                    f"{after.value}; this one is {order.status.value.replace('_', ' ')}"
                )
            order.status = after
            for name, value in (values or {}).items():
                setattr(order, name, value)
            await add_event(
                tx.session, order.id, kind, actor.user_id, actor.display_name, now, detail
            )


def _may_see(actor: Actor, order: Order) -> bool:
    return (
        actor.is_operator
        or (actor.user_id is not None and actor.user_id == order.buyer_id)
        or actor.manages(order.merchant_id)
    )


def _require_staff(actor: Actor, order: Order) -> None:
    if actor.is_operator:
        return
    actor.require_manager(order.merchant_id)


def _cell(text: str) -> str:
    """Neutralise spreadsheet formulas in text a shopper typed (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def _views(session: AsyncSession, orders: list[Order]) -> list[OrderView]:
    if not orders:
        return []
    lines = await session.scalars(
        select(OrderLine)
        .where(OrderLine.order_id.in_([order.id for order in orders]))
        .order_by(OrderLine.id)
    )
    by_order: dict[int, list[OrderLineView]] = {}
    for line in lines:
        by_order.setdefault(line.order_id, []).append(
            OrderLineView(
                line.variant_id, line.product_title, line.sku, line.unit_price, line.quantity
            )
        )
    return [
        OrderView(
            id=order.id,
            merchant_id=order.merchant_id,
            buyer_id=order.buyer_id,
            show_id=order.show_id,
            deal_id=order.deal_id,
            status=OrderStatus(order.status),
            currency=order.currency,
            subtotal=order.subtotal,
            shipping=order.shipping,
            tax=order.tax,
            total=order.total,
            address=(
                ShippingAddress(
                    name=order.ship_name,
                    line1=order.ship_line1,
                    line2=order.ship_line2,
                    postal_code=order.ship_postal_code,
                    city=order.ship_city,
                    country=order.ship_country,
                )
                if order.ship_line1
                else None
            ),
            tracking_number=order.tracking_number,
            created_at=order.created_at,
            paid_at=order.paid_at,
            lines=tuple(by_order.get(order.id, [])),
        )
        for order in orders
    ]
