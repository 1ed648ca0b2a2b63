"""Commission ledger. A paid order writes three entries: gross (what the shopper paid),
commission (the platform's share at the merchant's rate) and payable (what the merchant is
owed). A refund writes the same three negated. Entries are never updated or deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vitrine.accounts.actor import Actor
from vitrine.commerce.calculations import commission_split
from vitrine.commerce.models import LedgerEntry, LedgerKind
from vitrine.core.db import Database
from vitrine.core.errors import ValidationFailed


async def record_sale(
    session: AsyncSession,
    *,
    order_id: int,
    merchant_id: int,
    total: int,
    currency: str,
    commission_bps: int,
    at: datetime,
) -> None:
    commission, payable = commission_split(total, commission_bps, currency)
    for kind, amount in (
        (LedgerKind.GROSS, total),
        (LedgerKind.COMMISSION, commission),
        (LedgerKind.PAYABLE, payable),
    ):
        session.add(
            LedgerEntry(
                order_id=order_id,
                merchant_id=merchant_id,
                kind=kind,
                amount=amount,
                currency=currency,
                created_at=at,
            )
        )


async def record_refund(session: AsyncSession, *, order_id: int, at: datetime) -> None:
    """Reverse whatever the order's entries add up to (so a second refund writes zeros)."""
    sums = await session.execute(
        select(
            LedgerEntry.kind,
            LedgerEntry.merchant_id,
            LedgerEntry.currency,
            func.sum(LedgerEntry.amount),
        )
        .where(LedgerEntry.order_id == order_id)
        .group_by(LedgerEntry.kind, LedgerEntry.merchant_id, LedgerEntry.currency)
    )
    order = [LedgerKind.GROSS, LedgerKind.COMMISSION, LedgerKind.PAYABLE]
    rows = sorted(sums.all(), key=lambda row: order.index(LedgerKind(row[0])))
    for kind, merchant_id, currency, amount in rows:
        if amount:
            session.add(
                LedgerEntry(
                    order_id=order_id,
                    merchant_id=merchant_id,
                    kind=kind,
                    amount=-int(amount),
                    currency=currency,
                    created_at=at,
                )
            )


@dataclass(frozen=True, slots=True)
class PayoutLine:
    currency: str
    gross: int
    commission: int
    payable: int


@dataclass(frozen=True, slots=True)
class PayoutReport:
    """What a merchant earned in [start, end): refunds in the period are already netted."""

    merchant_id: int
    start: datetime
    end: datetime
    lines: tuple[PayoutLine, ...]  # one per currency


@dataclass(frozen=True, slots=True)
class PlatformTotals:
    start: datetime
    end: datetime
    lines: tuple[PayoutLine, ...]
    merchants: int  # merchants with entries in the period


class LedgerService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def payout_report(
        self, actor: Actor, merchant_id: int, start: datetime, end: datetime
    ) -> PayoutReport:
        """A merchant's payout for a period: for its owner and staff, and the operator."""
        if not actor.is_operator:
            actor.require_manager(merchant_id)
        _check_period(start, end)
        async with self._db.read() as session:
            lines = await _sums(session, start, end, merchant_id)
        return PayoutReport(merchant_id, start, end, lines)

    async def platform_totals(self, actor: Actor, start: datetime, end: datetime) -> PlatformTotals:
        """Everything sold on this Vitrine in a period, and the commission it earned."""
        actor.require_operator()
        _check_period(start, end)
        async with self._db.read() as session:
            lines = await _sums(session, start, end, None)
            merchants = await session.scalar(
                select(func.count(func.distinct(LedgerEntry.merchant_id))).where(
                    LedgerEntry.created_at >= start, LedgerEntry.created_at < end
                )
            )
        return PlatformTotals(start, end, lines, int(merchants or 0))


async def _sums(
    session: AsyncSession, start: datetime, end: datetime, merchant_id: int | None
) -> tuple[PayoutLine, ...]:
    query = (
        select(LedgerEntry.currency, LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.created_at >= start, LedgerEntry.created_at < end)
        .group_by(LedgerEntry.currency, LedgerEntry.kind)
    )
    if merchant_id is not None:
        query = query.where(LedgerEntry.merchant_id == merchant_id)
    per_currency: dict[str, dict[LedgerKind, int]] = {}
    for currency, kind, amount in await session.execute(query):
        per_currency.setdefault(currency, {})[LedgerKind(kind)] = int(amount or 0)
    return tuple(
        PayoutLine(
            currency,
            sums.get(LedgerKind.GROSS, 0),
            sums.get(LedgerKind.COMMISSION, 0),
            sums.get(LedgerKind.PAYABLE, 0),
        )
        for currency, sums in sorted(per_currency.items())
    )


def _check_period(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationFailed({"end": "The period must end after it starts"})
