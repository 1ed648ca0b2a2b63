"""Commission: a merchant's payout report for a period (with a per-day chart) and the
operator's platform totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy import select

from vitrine.accounts import merchants
from vitrine.commerce.models import LedgerEntry
from vitrine.core.db import Database
from vitrine.core.errors import ValidationFailed
from vitrine.web.auth import page_actor
from vitrine.web.pages.common import render
from vitrine.web.services import services_of

MAX_DAYS = 92
CHART_HEIGHT = 120


@dataclass(frozen=True, slots=True)
class Bar:
    """One day's column of the chart, in SVG units."""

    x: int
    label: str
    gross_h: int
    commission_h: int
    payable_h: int
    title: str


def period_of(request: Request[Any, Any, Any]) -> tuple[date, date]:
    """`?start=YYYY-MM-DD&end=YYYY-MM-DD` (both included); the last 30 days by default."""
    today = datetime.now(UTC).date()
    texts = {name: request.query_params.get(name, "").strip() for name in ("start", "end")}
    try:
        end = date.fromisoformat(texts["end"]) if texts["end"] else today
    except ValueError:
        raise ValidationFailed({"end": "Use a date such as 2026-11-26"}) from None
    try:
        start = date.fromisoformat(texts["start"]) if texts["start"] else end - timedelta(days=29)
    except ValueError:
        raise ValidationFailed({"start": "Use a date such as 2026-11-01"}) from None
    if end < start:
        raise ValidationFailed({"end": "The period must end after it starts"})
    if (end - start).days >= MAX_DAYS:
        raise ValidationFailed({"start": f"Choose a period of at most {MAX_DAYS} days"})
    return start, end


def _moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


async def daily_sums(
    db: Database, merchant_id: int, start: date, end: date
) -> dict[str, dict[date, tuple[int, int, int]]]:
    """{currency: {day: (gross, commission, payable)}} for the chart."""
    async with db.read() as session:
        rows = await session.execute(
            select(
                LedgerEntry.currency, LedgerEntry.kind, LedgerEntry.amount, LedgerEntry.created_at
            ).where(
                LedgerEntry.merchant_id == merchant_id,
                LedgerEntry.created_at >= _moment(start),
                LedgerEntry.created_at < _moment(end + timedelta(days=1)),
            )
        )
        sums: dict[str, dict[date, list[int]]] = {}
        for currency, kind, amount, at in rows:
            day = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).date()
            slot = sums.setdefault(currency, {}).setdefault(day, [0, 0, 0])
            slot[("gross", "commission", "payable").index(str(kind))] += int(amount)
    return {
        currency: {day: (v[0], v[1], v[2]) for day, v in days.items()}
        for currency, days in sums.items()
    }


def chart_bars(days: dict[date, tuple[int, int, int]], start: date, end: date) -> list[Bar]:
    """Three bars a day (gross, commission, payable), scaled to the highest gross."""
    top = max([max(v) for v in days.values()] + [1])
    bars = []
    for index in range((end - start).days + 1):
        day = start + timedelta(days=index)
        gross, commission, payable = days.get(day, (0, 0, 0))
        bars.append(
            Bar(
                x=index * 14,
                label=day.isoformat(),
                gross_h=max(0, gross) * CHART_HEIGHT // top,
                commission_h=max(0, commission) * CHART_HEIGHT // top,
                payable_h=max(0, payable) * CHART_HEIGHT // top,
                title=f"{day.isoformat()}: gross {gross}, commission {commission}, "
                f"payable {payable} (minor units)",
            )
        )
    return bars


@get("/manage/{merchant_id:int}/payouts")
async def payouts_page(request: Request[Any, Any, Any], merchant_id: FromPath[int]) -> Template:
    services = services_of(request)
    actor = await page_actor(request)
    actor.require_manager(merchant_id)
    merchant = await merchants.get_merchant(services.db, merchant_id)
    try:
        start, end = period_of(request)
    except ValidationFailed as error:
        return await render(
            request,
            "payouts/report.html",
            status=422,
            merchant=merchant,
            report=None,
            charts={},
            errors=error.errors,
            values=dict(request.query_params),
            chart_height=CHART_HEIGHT,
        )
    report = await services.ledger.payout_report(
        actor, merchant_id, _moment(start), _moment(end + timedelta(days=1))
    )
    daily = await daily_sums(services.db, merchant_id, start, end)
    return await render(
        request,
        "payouts/report.html",
        merchant=merchant,
        report=report,
        charts={currency: chart_bars(days, start, end) for currency, days in daily.items()},
        values={"start": start.isoformat(), "end": end.isoformat()},
        chart_height=CHART_HEIGHT,
    )


@get("/admin/totals")
async def platform_totals(request: Request[Any, Any, Any]) -> Template:
    services = services_of(request)
    actor = await page_actor(request)
    actor.require_operator()
    try:
        start, end = period_of(request)
    except ValidationFailed as error:
        return await render(
            request,
            "payouts/platform.html",
            status=422,
            totals=None,
            errors=error.errors,
            values=dict(request.query_params),
        )
    totals = await services.ledger.platform_totals(
        actor, _moment(start), _moment(end + timedelta(days=1))
    )
    return await render(
        request,
        "payouts/platform.html",
        totals=totals,
        values={"start": start.isoformat(), "end": end.isoformat()},
    )


async def order_ledger(db: Database, order_id: int) -> list[LedgerEntry]:
    """An order's ledger entries (gross, commission, payable; negated by a refund)."""
    async with db.read() as session:
        entries = await session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.order_id == order_id)
            .order_by(LedgerEntry.created_at, LedgerEntry.id)
        )
        return list(entries.all())


routes = [payouts_page, platform_totals]
