"""Going on to pay for a won deal. In the rush a winner gets only a hold (`winners`); the
order pending payment, its line, its reservation and its "placed" event are created here,
when the shopper opens the pay page, one shopper at a time. The same hold always gives the
same order, so one idempotency key is one order, exactly.

A hold that expired before the shopper came back has already returned its unit to stock; its
order gets a released reservation, and paying re-takes the unit if it is still there
(`payments`), as for any order whose hold expired."""

from __future__ import annotations

from sqlalchemy import select

from vitrine.accounts.actor import Actor
from vitrine.catalog.models import Product, Variant
from vitrine.commerce.models import (
    Deal,
    DealHold,
    DealHoldStatus,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Reservation,
    ReservationStatus,
)
from vitrine.core.db import Database
from vitrine.core.errors import NotFound


async def order_for_hold(db: Database, actor: Actor, hold_id: int) -> int:
    """The order of the shopper's won hold, created the first time; returns its id."""
    buyer_id = actor.require_signed_in()
    async with db.write() as tx:
        session = tx.session
        hold = await session.scalar(
            select(DealHold).where(DealHold.id == hold_id).with_for_update()
        )
        if hold is None or hold.buyer_id != buyer_id:
            raise NotFound("This deal purchase does not exist")
        if hold.order_id is not None:
            return hold.order_id
        deal = await session.get(Deal, hold.deal_id)
        variant = await session.get(Variant, hold.variant_id)
        assert deal is not None and variant is not None
        product = await session.get(Product, variant.product_id)
        assert product is not None
        order = Order(
            merchant_id=deal.merchant_id,
            buyer_id=buyer_id,
            show_id=deal.show_id,
            deal_id=deal.id,
            idempotency_key=hold.idempotency_key,
            status=OrderStatus.PENDING_PAYMENT,
            currency=hold.currency,
            subtotal=hold.subtotal,
            shipping=hold.shipping,
            tax=hold.tax,
            total=hold.subtotal + hold.shipping + hold.tax,
            created_at=hold.created_at,
        )
        session.add(order)
        await session.flush()
        held = hold.status is DealHoldStatus.HELD
        session.add_all(
            [
                OrderLine(
                    order_id=order.id,
                    variant_id=variant.id,
                    product_title=product.title,
                    sku=variant.sku,
                    unit_price=deal.deal_price,
                    quantity=hold.quantity,
                ),
                Reservation(
                    order_id=order.id,
                    variant_id=variant.id,
                    buyer_id=buyer_id,
                    quantity=hold.quantity,
                    status=ReservationStatus.HELD if held else ReservationStatus.RELEASED,
                    created_at=hold.created_at,
                    expires_at=hold.expires_at,
                ),
                OrderEvent(
                    order_id=order.id,
                    kind="placed",
                    detail=f"Won in deal {deal.id}",
                    actor_user_id=buyer_id,
                    actor_label="shopper",
                    at=hold.created_at,
                ),
            ]
        )
        if not held:
            session.add(
                OrderEvent(
                    order_id=order.id,
                    kind="hold_expired",
                    detail="The stock hold expired before payment",
                    actor_label="system",
                    at=hold.expires_at,
                )
            )
        if held:
            hold.status = DealHoldStatus.ORDERED
        hold.order_id = order.id
        return order.id
