"""Paying for an order. The card is charged outside any transaction (never inside a stock
lock); the outcome, from the charge's answer or from the provider's webhook, whichever comes
first, is applied once by `_settle`.

A hold that expired before payment does not lose the order: paying re-takes the stock if it
is still there and the order is paid; if it has sold out meanwhile the order becomes
`refund_due` and the money is sent back at once (status `refunded`, event says why)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from vitrine.accounts.actor import Actor
from vitrine.accounts.models import Merchant
from vitrine.commerce.announce import Announcer
from vitrine.commerce.errors import PaymentDeclined, WebhookRefused
from vitrine.commerce.gateway import ChargeResult, ChargeStatus, PaymentProvider
from vitrine.commerce.ledger import record_sale
from vitrine.commerce.models import (
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Reservation,
    ReservationStatus,
    WebhookDelivery,
)
from vitrine.commerce.orders import add_event, require_buyer
from vitrine.commerce.policy import BuyingPolicy
from vitrine.commerce.reservations import put_back_stock, take_stock
from vitrine.core.clock import utc_now
from vitrine.core.db import Database, Tx
from vitrine.core.errors import Conflict, NotFound, ValidationFailed

# A second tap on "pay" while a charge is under way is refused, not charged twice; a charge
# that never finished (the process died) stops blocking after this long.
PAYMENT_IN_PROGRESS = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    payment_id: int
    payment_status: PaymentStatus
    order_id: int
    order_status: OrderStatus
    message: str  # what to tell the shopper


@dataclass(frozen=True, slots=True)
class _Settled:
    order_status: OrderStatus
    refund_reference: str | None  # a payment to give back (paid too late, or paid twice)
    stock: dict[int, int]


class PaymentService:
    def __init__(
        self,
        db: Database,
        provider: PaymentProvider,
        announcer: Announcer,
        *,
        buying: BuyingPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._db = db
        self._provider = provider
        self._announcer = announcer
        self._buying = buying or BuyingPolicy()
        self._clock = clock

    async def pay(
        self, actor: Actor, order_id: int, *, card_number: str, platform: str
    ) -> PaymentOutcome:
        """Charge the shopper's card for an order pending payment. Declined → PaymentDeclined
        (the order stays open for another card); a card that needs a second step answers
        `requires_action` and `confirm` finishes it."""
        self._buying.check(platform)
        buyer_id = actor.require_signed_in()
        if not card_number.strip():
            raise ValidationFailed({"card_number": "Enter a card number"})
        async with self._db.write() as tx:
            order = await require_buyer(tx.session, order_id, buyer_id)
            await tx.session.refresh(order, with_for_update=True)  # one payment at a time
            if order.status != OrderStatus.PENDING_PAYMENT:
                raise Conflict(f"This order is {order.status.value.replace('_', ' ')}")
            if not order.ship_line1:
                raise ValidationFailed({"address": "Add a shipping address before paying"})
            in_progress = await tx.session.scalar(
                select(Payment.id).where(
                    Payment.order_id == order.id,
                    Payment.status.in_([PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION]),
                    Payment.created_at > self._clock() - PAYMENT_IN_PROGRESS,
                )
            )
            if in_progress is not None:
                raise Conflict("A payment for this order is already in progress")
            payment = Payment(
                order_id=order.id,
                provider=self._provider.name,
                reference=f"pay_{secrets.token_hex(12)}",
                status=PaymentStatus.PENDING,
                amount=order.total,
                currency=order.currency,
                created_at=self._clock(),
                updated_at=self._clock(),
            )
            tx.session.add(payment)
            await tx.session.flush()
            payment_id, reference = payment.id, payment.reference
            amount, currency = order.total, order.currency
        result = await self._provider.charge(
            reference=reference, amount=amount, currency=currency, card_number=card_number
        )
        return await self._apply(payment_id, result, actor)

    async def confirm(self, actor: Actor, payment_id: int) -> PaymentOutcome:
        """The shopper completed the card's second step."""
        buyer_id = actor.require_signed_in()
        async with self._db.read() as session:
            payment = await session.get(Payment, payment_id)
            if payment is None:
                raise NotFound("This payment does not exist")
            await require_buyer(session, payment.order_id, buyer_id)
            reference = payment.reference
        result = await self._provider.confirm(reference=reference)
        return await self._apply(payment_id, result, actor)

    async def handle_webhook(self, body: bytes, signature: str) -> str:
        """A provider's callback: verified, processed once per event id. Returns
        "processed", "duplicate" (a replay: nothing changes) or "ignored"."""
        event = self._provider.verify_webhook(body, signature)
        async with self._db.write() as tx:
            try:
                async with tx.session.begin_nested():
                    tx.session.add(
                        WebhookDelivery(
                            provider=self._provider.name,
                            event_id=event.event_id,
                            kind=event.kind,
                            received_at=self._clock(),
                        )
                    )
            except IntegrityError:
                return "duplicate"  # processed before: a replay changes nothing
            payment = await tx.session.scalar(
                select(Payment).where(
                    Payment.provider == self._provider.name,
                    Payment.reference == event.reference,
                )
            )
            if payment is None:
                raise WebhookRefused("The webhook names a payment we do not know")
            if event.kind == "payment.succeeded":
                settled = await self._settle(tx, payment.id, succeeded=True, by=None)
            elif event.kind == "payment.failed":
                settled = await self._settle(tx, payment.id, succeeded=False, by=None)
            else:
                settled = None
        if settled is None:
            return "ignored"
        await self._after(settled)
        return "processed"

    async def _apply(self, payment_id: int, result: ChargeResult, actor: Actor) -> PaymentOutcome:
        if result.status is ChargeStatus.REQUIRES_ACTION:
            async with self._db.write() as tx:
                payment = await tx.session.get(Payment, payment_id, with_for_update=True)
                assert payment is not None
                if payment.status == PaymentStatus.PENDING:
                    payment.status = PaymentStatus.REQUIRES_ACTION
                    payment.updated_at = self._clock()
                order = await tx.session.get(Order, payment.order_id)
                assert order is not None
            return PaymentOutcome(
                payment_id,
                payment.status,
                order.id,
                order.status,
                "Your bank needs you to confirm this payment",
            )
        succeeded = result.status is ChargeStatus.SUCCEEDED
        async with self._db.write() as tx:
            settled = await self._settle(tx, payment_id, succeeded=succeeded, by=actor)
            payment = await tx.session.get(Payment, payment_id)
            assert payment is not None
            order_id = payment.order_id
        await self._after(settled)
        if not succeeded:
            raise PaymentDeclined(result.message or "Your card was declined; try another card")
        status = (
            OrderStatus.REFUNDED
            if settled.order_status is OrderStatus.REFUND_DUE
            else settled.order_status
        )
        message = {
            OrderStatus.PAID: "Paid. Thank you!",
            OrderStatus.REFUNDED: "Sorry, this item sold out while your payment went through; "
            "your money has been refunded",
        }.get(status, "Payment received")
        return PaymentOutcome(payment_id, PaymentStatus.SUCCEEDED, order_id, status, message)

    async def _settle(
        self, tx: Tx, payment_id: int, *, succeeded: bool, by: Actor | None
    ) -> _Settled:
        """Apply a payment's outcome once. Lock order: orders, then reservations, variants."""
        session = tx.session
        payment = await session.get(Payment, payment_id)
        assert payment is not None
        order = await session.get(Order, payment.order_id, with_for_update=True)
        assert order is not None
        await session.refresh(payment, with_for_update=True)
        now = self._clock()
        label = by.display_name if by else "payment provider"
        actor_id = by.user_id if by else None
        if payment.status in (
            PaymentStatus.SUCCEEDED,
            PaymentStatus.DECLINED,
            PaymentStatus.REFUNDED,
        ):
            return _Settled(OrderStatus(order.status), None, {})  # already applied
        payment.updated_at = now
        if not succeeded:
            payment.status = PaymentStatus.DECLINED
            await add_event(session, order.id, "payment_declined", actor_id, label, now)
            return _Settled(OrderStatus(order.status), None, {})
        payment.status = PaymentStatus.SUCCEEDED
        if order.status != OrderStatus.PENDING_PAYMENT:
            # Cancelled meanwhile, or paid by another payment: this money goes back.
            await add_event(
                session,
                order.id,
                "payment_returned",
                actor_id,
                label,
                now,
                f"Payment {payment.reference} arrived for an order already {order.status.value}",
            )
            return _Settled(OrderStatus(order.status), payment.reference, {})
        stock, complete = await _keep_stock(tx, order.id)
        if not complete:
            order.status = OrderStatus.REFUND_DUE
            await add_event(
                session,
                order.id,
                "refund_due",
                actor_id,
                label,
                now,
                "Paid after the hold expired and the item had sold out",
            )
            return _Settled(OrderStatus.REFUND_DUE, payment.reference, stock)
        order.status = OrderStatus.PAID
        order.paid_at = now
        merchant = await session.get(Merchant, order.merchant_id)
        assert merchant is not None
        await record_sale(
            session,
            order_id=order.id,
            merchant_id=order.merchant_id,
            total=order.total,
            currency=order.currency,
            commission_bps=merchant.commission_bps,
            at=now,
        )
        await add_event(session, order.id, "paid", actor_id, label, now)
        return _Settled(OrderStatus.PAID, None, stock)

    async def _after(self, settled: _Settled) -> None:
        """After commit: announce re-taken stock, give back money that cannot buy anything."""
        for variant_id, left in settled.stock.items():
            await self._announcer.stock_changed(None, variant_id, left)
        if settled.refund_reference is None:
            return
        async with self._db.read() as session:
            payment = await session.scalar(
                select(Payment).where(
                    Payment.provider == self._provider.name,
                    Payment.reference == settled.refund_reference,
                )
            )
            assert payment is not None
        await self._provider.refund(reference=payment.reference, amount=payment.amount)
        async with self._db.write() as tx:
            await tx.session.execute(
                update(Payment)
                .where(Payment.id == payment.id, Payment.status == PaymentStatus.SUCCEEDED)
                .values(status=PaymentStatus.REFUNDED, updated_at=self._clock())
            )
            changed = await tx.session.execute(
                update(Order)
                .where(Order.id == payment.order_id, Order.status == OrderStatus.REFUND_DUE)
                .values(status=OrderStatus.REFUNDED)
                .returning(Order.id)
            )
            if changed.scalar_one_or_none() is not None:
                await add_event(
                    tx.session,
                    payment.order_id,
                    "refunded",
                    None,
                    "system",
                    self._clock(),
                    "The payment was returned because the item sold out",
                )


async def _keep_stock(tx: Tx, order_id: int) -> tuple[dict[int, int], bool]:
    """Turn the order's holds into sales. Holds already released (expired and swept) take
    their stock again if it is there. ({variant: stock left} for re-taken ones, complete?)"""
    session = tx.session
    await session.execute(
        update(Reservation)
        .where(Reservation.order_id == order_id, Reservation.status == ReservationStatus.HELD)
        .values(status=ReservationStatus.CONVERTED)
    )
    released = (
        (
            await session.execute(
                select(Reservation)
                .where(
                    Reservation.order_id == order_id,
                    Reservation.status == ReservationStatus.RELEASED,
                )
                .order_by(Reservation.variant_id)
            )
        )
        .scalars()
        .all()
    )
    stock: dict[int, int] = {}
    retaken: list[Reservation] = []
    for reservation in released:
        left = await take_stock(session, reservation.variant_id, reservation.quantity)
        if left is None:
            for back in retaken:  # all or nothing: give back what this order re-took
                stock[back.variant_id] = await put_back_stock(
                    session, back.variant_id, back.quantity
                )
                back.status = ReservationStatus.RELEASED
            # The holds converted above go back too: the order will not ship.
            converted = await session.execute(
                update(Reservation)
                .where(
                    Reservation.order_id == order_id,
                    Reservation.status == ReservationStatus.CONVERTED,
                )
                .values(status=ReservationStatus.RELEASED)
                .returning(Reservation.variant_id, Reservation.quantity)
            )
            for variant_id, quantity in sorted(converted.all()):
                stock[variant_id] = await put_back_stock(session, variant_id, quantity)
            return stock, False
        stock[reservation.variant_id] = left
        reservation.status = ReservationStatus.CONVERTED
        retaken.append(reservation)
    return stock, True
