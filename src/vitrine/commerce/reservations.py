"""Stock holds. A reservation takes units off a variant from "buy" until the order is paid or
the hold expires; stock only ever moves through conditional updates, never check-then-act.

Lock order, everywhere in commerce: orders → deals → reservations → variants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vitrine.catalog.models import Variant
from vitrine.commerce.announce import Announcer
from vitrine.commerce.models import (
    DealHold,
    DealHoldStatus,
    OrderEvent,
    Reservation,
    ReservationStatus,
    table_of,
)
from vitrine.core.clock import utc_now
from vitrine.core.db import Database


async def take_stock(session: AsyncSession, variant_id: int, quantity: int) -> int | None:
    """Take `quantity` units if they are there; the stock left, or None when there are fewer."""
    result = await session.execute(
        update(Variant)
        .where(Variant.id == variant_id, Variant.stock >= quantity)
        .values(stock=Variant.stock - quantity)
        .returning(Variant.stock)
    )
    return result.scalar_one_or_none()


async def put_back_stock(session: AsyncSession, variant_id: int, quantity: int) -> int:
    """Return units to a variant's stock; the stock it now has."""
    result = await session.execute(
        update(Variant)
        .where(Variant.id == variant_id)
        .values(stock=Variant.stock + quantity)
        .returning(Variant.stock)
    )
    return int(result.scalar_one())


async def release_reservations(
    session: AsyncSession, order_id: int, *, only_if_expired_by: datetime | None = None
) -> dict[int, int]:
    """Release an order's held reservations and restock; {variant_id: stock left}."""
    conditions = [
        Reservation.order_id == order_id,
        Reservation.status == ReservationStatus.HELD,
    ]
    if only_if_expired_by is not None:
        conditions.append(Reservation.expires_at <= only_if_expired_by)
    released = await session.execute(
        update(Reservation)
        .where(and_(*conditions))
        .values(status=ReservationStatus.RELEASED)
        .returning(Reservation.variant_id, Reservation.quantity)
    )
    stock: dict[int, int] = {}
    for variant_id, quantity in sorted(released.all()):
        stock[variant_id] = await put_back_stock(session, variant_id, quantity)
    return stock


class ReservationService:
    """Expiry of holds. The app calls `release_expired` every few seconds."""

    def __init__(
        self,
        db: Database,
        announcer: Announcer,
        *,
        clock: Callable[[], datetime] = utc_now,
        batch: int = 500,
    ) -> None:
        self._db = db
        self._announcer = announcer
        self._clock = clock
        self._batch = batch

    async def release_expired(self, now: datetime | None = None) -> int:
        """Release every hold past its expiry, restock, and announce the new stock after
        commit. The order stays pending payment: paying later re-takes stock if it can.
        Returns how many reservations were released."""
        moment = now or self._clock()
        total = await self._release_expired_deal_holds(moment)
        while True:
            async with self._db.write() as tx:
                expired = await tx.session.execute(
                    select(Reservation.id)
                    .where(
                        Reservation.status == ReservationStatus.HELD,
                        Reservation.expires_at <= moment,
                    )
                    .order_by(Reservation.id)
                    .limit(self._batch)
                )
                ids = list(expired.scalars())
                if not ids:
                    return total
                # The status condition again: a payment may have converted it meanwhile.
                released = await tx.session.execute(
                    update(Reservation)
                    .where(Reservation.id.in_(ids), Reservation.status == ReservationStatus.HELD)
                    .values(status=ReservationStatus.RELEASED)
                    .returning(Reservation.order_id, Reservation.variant_id, Reservation.quantity)
                )
                rows = sorted(released.all(), key=lambda row: row[1])
                per_variant: dict[int, int] = {}
                for _order_id, variant_id, quantity in rows:
                    per_variant[variant_id] = per_variant.get(variant_id, 0) + quantity
                stock: dict[int, int] = {}
                for variant_id in sorted(per_variant):
                    stock[variant_id] = await put_back_stock(
                        tx.session, variant_id, per_variant[variant_id]
                    )
                order_ids = sorted({order_id for order_id, _, _ in rows})
                if order_ids:
                    await tx.session.execute(
                        table_of(OrderEvent).insert(),
                        [
                            {
                                "order_id": order_id,
                                "kind": "hold_expired",
                                "detail": "The stock hold expired before payment",
                                "actor_label": "system",
                                "at": moment,
                            }
                            for order_id in order_ids
                        ],
                    )
                total += len(rows)
                tx.on_commit(_Announce(self._announcer, stock))

    async def _release_expired_deal_holds(self, moment: datetime) -> int:
        """Won deal units the shopper never went on to pay for: back in the variant's stock."""
        async with self._db.write() as tx:
            released = await tx.session.execute(
                update(DealHold)
                .where(DealHold.status == DealHoldStatus.HELD, DealHold.expires_at <= moment)
                .values(status=DealHoldStatus.RELEASED)
                .returning(DealHold.variant_id, DealHold.quantity)
            )
            per_variant: dict[int, int] = {}
            rows = released.all()
            for variant_id, quantity in rows:
                per_variant[variant_id] = per_variant.get(variant_id, 0) + quantity
            stock = {
                variant_id: await put_back_stock(tx.session, variant_id, per_variant[variant_id])
                for variant_id in sorted(per_variant)
            }
            tx.on_commit(_Announce(self._announcer, stock))
        return len(rows)


class _Announce:
    """An after-commit hook announcing new stock levels (to every show that has them)."""

    def __init__(self, announcer: Announcer, stock: dict[int, int]) -> None:
        self._announcer = announcer
        self._stock = stock

    async def __call__(self) -> None:
        for variant_id, left in self._stock.items():
            await self._announcer.stock_changed(None, variant_id, left)
