"""The report of one show and the comparison of shows, read from the rollups (views, clicks)
and from commerce's and chat's own tables (carts, orders, messages, follows)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vitrine.accounts.models import Follow, Merchant
from vitrine.analytics.models import ShowMinute, ShowProductClicks
from vitrine.analytics.sales import SOLD, SalesLine, show_sales
from vitrine.catalog.models import Product, Variant
from vitrine.chat.models import ChatMessage
from vitrine.commerce.models import CartLine, ExternalClick, Order
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.core.errors import NotFound
from vitrine.shows.models import LineupItem, Show, ShowStatus

# Follows this long after the show ended still count as gained by the show.
FOLLOW_WINDOW = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ProductRow:
    product_id: int
    title: str
    clicks: int = 0
    carts: int = 0
    orders: int = 0
    units: int = 0
    revenue: int = 0


@dataclass(frozen=True, slots=True)
class MinutePoint:
    minute: int  # Unix time // 60
    viewers: int  # the most viewers connected at once during that minute

    @property
    def at(self) -> datetime:
        from datetime import UTC

        return datetime.fromtimestamp(self.minute * 60, UTC)


@dataclass(frozen=True, slots=True)
class FunnelStep:
    label: str
    count: int
    percent_of_first: float


@dataclass(frozen=True, slots=True)
class ShowReport:
    show_id: int
    title: str
    merchant_id: int
    brand_name: str
    currency: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    views: int
    unique_viewers: int
    peak_viewers: int
    avg_watch_s: int
    chat_messages: int
    reactions: int
    product_clicks: int
    add_to_carts: int
    orders: int
    gmv: int
    followers_gained: int
    products: list[ProductRow] = field(default_factory=list)
    viewers_per_minute: list[MinutePoint] = field(default_factory=list)

    @property
    def funnel(self) -> list[FunnelStep]:
        counts = [
            ("Viewed", self.unique_viewers),
            ("Clicked a product", self.product_clicks),
            ("Added to cart", self.add_to_carts),
            ("Ordered", self.orders),
        ]
        first = counts[0][1]
        return [
            FunnelStep(label, n, round(100 * n / first, 1) if first else 0.0) for label, n in counts
        ]


@dataclass(frozen=True, slots=True)
class ShowLine:
    """One show in a comparison of shows over time."""

    show_id: int
    title: str
    merchant_id: int
    brand_name: str
    currency: str
    status: str
    at: datetime
    views: int
    unique_viewers: int
    orders: int
    gmv: int


@dataclass(frozen=True, slots=True)
class LiveCounters:
    """What the studio shows while the show runs."""

    show_id: int
    watching: int
    views: int
    orders: int
    gmv: int
    currency: str


async def show_report(db: Database, show_id: int, *, now: datetime | None = None) -> ShowReport:
    """Everything about one show. Reads the per-minute rollup (hundreds of rows), one count of
    distinct viewers, and the show's own orders through their show index."""
    async with db.read() as session:
        row = (
            await session.execute(
                select(Show, Merchant)
                .join(Merchant, Merchant.id == Show.merchant_id)
                .where(Show.id == show_id)
            )
        ).one_or_none()
        if row is None:
            raise NotFound(f"No show #{show_id}")
        show, merchant = row
        minutes = (
            await session.execute(
                select(
                    ShowMinute.minute,
                    ShowMinute.joins,
                    ShowMinute.leaves,
                    ShowMinute.peak,
                    ShowMinute.watch_s,
                    ShowMinute.reactions,
                    ShowMinute.new_viewers,
                )
                .where(ShowMinute.show_id == show_id)
                .order_by(ShowMinute.minute)
            )
        ).all()
        chat_messages = await _scalar(
            session, select(func.count()).where(ChatMessage.show_id == show_id)
        )
        followers = await _followers_gained(session, show, now or utc_now())
    sales = await show_sales(db, show_id)
    async with db.read() as session:
        products = await _product_rows(session, show, sales.lines)

    views = sum(m.joins for m in minutes)
    ended = sum(m.leaves for m in minutes)
    return ShowReport(
        show_id=show.id,
        title=show.title,
        merchant_id=merchant.id,
        brand_name=merchant.brand_name,
        currency=merchant.currency,
        status=show.status.value,
        started_at=show.started_at,
        ended_at=show.ended_at,
        views=views,
        unique_viewers=sum(m.new_viewers for m in minutes),
        peak_viewers=max((m.peak for m in minutes), default=0),
        avg_watch_s=round(sum(m.watch_s for m in minutes) / ended) if ended else 0,
        chat_messages=chat_messages,
        reactions=sum(m.reactions for m in minutes),
        product_clicks=sum(p.clicks for p in products),
        add_to_carts=sum(p.carts for p in products),
        orders=sales.orders,
        gmv=sales.gmv,
        followers_gained=followers,
        products=products,
        viewers_per_minute=viewers_over_time(
            (m.minute, m.joins, m.leaves, m.peak) for m in minutes
        ),
    )


def viewers_over_time(minutes: Iterable[tuple[int, int, int, int]]) -> list[MinutePoint]:
    """Concurrent viewers for every minute from the first join to the last leave: the peak
    recorded in that minute, or, in a quiet minute, the audience carried over from before."""
    points: list[MinutePoint] = []
    audience = 0
    previous: int | None = None
    for minute, joins, leaves, peak in minutes:
        if previous is not None:
            points.extend(MinutePoint(m, audience) for m in range(previous + 1, minute))
        points.append(MinutePoint(minute, max(peak, audience)))
        audience = max(0, audience + joins - leaves)
        previous = minute
    return points[-24 * 60 :]


async def _scalar(session: AsyncSession, query: Select[Any]) -> int:
    return int((await session.execute(query)).scalar_one() or 0)


async def _followers_gained(session: AsyncSession, show: Show, now: datetime) -> int:
    if show.started_at is None:
        return 0
    until = (show.ended_at + FOLLOW_WINDOW) if show.ended_at else now
    return await _scalar(
        session,
        select(func.count()).where(
            Follow.merchant_id == show.merchant_id,
            Follow.created_at >= show.started_at,
            Follow.created_at <= until,
        ),
    )


async def _product_rows(
    session: AsyncSession, show: Show, sales: Sequence[SalesLine]
) -> list[ProductRow]:
    """Clicks, carts, orders, units and revenue per product; the show's lineup first."""
    clicks: dict[int, int] = {}
    for product_id, n in (
        await session.execute(
            select(ShowProductClicks.product_id, ShowProductClicks.clicks).where(
                ShowProductClicks.show_id == show.id
            )
        )
    ).all():
        clicks[product_id] = clicks.get(product_id, 0) + n
    for product_id, n in (
        await session.execute(
            select(ExternalClick.product_id, func.count())
            .where(ExternalClick.show_id == show.id)
            .group_by(ExternalClick.product_id)
        )
    ).all():
        clicks[product_id] = clicks.get(product_id, 0) + n
    # A line still in a cart, or one that became an order: each was added to a cart once.
    carts: dict[int, int] = dict(
        (
            await session.execute(
                select(Variant.product_id, func.count())
                .select_from(CartLine)
                .join(Variant, Variant.id == CartLine.variant_id)
                .where(CartLine.show_id == show.id)
                .group_by(Variant.product_id)
            )
        ).all()
    )
    sold: dict[int, tuple[int, int, int]] = {}
    for line in sales:
        carts[line.product_id] = carts.get(line.product_id, 0) + line.lines
        if line.sold:
            before = sold.get(line.product_id, (0, 0, 0))
            sold[line.product_id] = (
                before[0] + line.orders,
                before[1] + line.units,
                before[2] + line.revenue,
            )
    lineup = list(
        (
            await session.execute(
                select(LineupItem.product_id)
                .where(LineupItem.show_id == show.id)
                .order_by(LineupItem.position)
            )
        ).scalars()
    )
    wanted = [*lineup, *sorted((set(clicks) | set(carts) | set(sold)) - set(lineup))]
    titles = dict(
        (
            await session.execute(
                select(Product.id, Product.title).where(
                    Product.id.in_(wanted), Product.merchant_id == show.merchant_id
                )
            )
        ).all()
    )
    return [
        ProductRow(
            product_id=pid,
            title=titles[pid],
            clicks=clicks.get(pid, 0),
            carts=carts.get(pid, 0),
            orders=sold.get(pid, (0, 0, 0))[0],
            units=sold.get(pid, (0, 0, 0))[1],
            revenue=sold.get(pid, (0, 0, 0))[2],
        )
        for pid in wanted
        if pid in titles  # a click on a product not of this brand is noise, not a row
    ]


async def compare_shows(
    db: Database, *, merchant_id: int | None = None, limit: int = 200
) -> list[ShowLine]:
    """Shows that have started, oldest first, with views, orders and GMV: a merchant's, or
    (merchant_id None) every merchant's for the operator."""
    async with db.read() as session:
        query = (
            select(Show, Merchant)
            .join(Merchant, Merchant.id == Show.merchant_id)
            .where(Show.status.in_((ShowStatus.LIVE, ShowStatus.ENDED)))
            .order_by(Show.started_at.desc(), Show.id.desc())
            .limit(limit)
        )
        if merchant_id is not None:
            query = query.where(Show.merchant_id == merchant_id)
        shows = [(row[0], row[1]) for row in (await session.execute(query)).all()]
        ids = [show.id for show, _ in shows]
        if not ids:
            return []
        views = dict(
            (
                await session.execute(
                    select(ShowMinute.show_id, func.sum(ShowMinute.joins))
                    .where(ShowMinute.show_id.in_(ids))
                    .group_by(ShowMinute.show_id)
                )
            ).all()
        )
        uniques = dict(
            (
                await session.execute(
                    select(ShowMinute.show_id, func.sum(ShowMinute.new_viewers))
                    .where(ShowMinute.show_id.in_(ids))
                    .group_by(ShowMinute.show_id)
                )
            ).all()
        )
        sales = {
            show_id: (int(n), int(total or 0))
            for show_id, n, total in (
                await session.execute(
                    select(Order.show_id, func.count(), func.sum(Order.total))
                    .where(Order.show_id.in_(ids), Order.status.in_(SOLD))
                    .group_by(Order.show_id)
                )
            ).all()
            if show_id is not None
        }
    lines = [
        ShowLine(
            show_id=show.id,
            title=show.title,
            merchant_id=merchant.id,
            brand_name=merchant.brand_name,
            currency=merchant.currency,
            status=show.status.value,
            at=show.started_at or show.scheduled_start,
            views=int(views.get(show.id) or 0),
            unique_viewers=int(uniques.get(show.id) or 0),
            orders=sales.get(show.id, (0, 0))[0],
            gmv=sales.get(show.id, (0, 0))[1],
        )
        for show, merchant in shows
    ]
    return sorted(lines, key=lambda line: (line.at, line.show_id))


async def live_counters(db: Database, show_id: int, watching: int) -> LiveCounters:
    """Views, orders and GMV so far; `watching` comes from the live edge's viewer count."""
    async with db.read() as session:
        currency = (
            await session.execute(
                select(Merchant.currency)
                .join(Show, Show.merchant_id == Merchant.id)
                .where(Show.id == show_id)
            )
        ).scalar_one_or_none()
        if currency is None:
            raise NotFound(f"No show #{show_id}")
        views = await _scalar(
            session,
            select(func.coalesce(func.sum(ShowMinute.joins), 0)).where(
                ShowMinute.show_id == show_id
            ),
        )
        sold = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(Order.total), 0)).where(
                    Order.show_id == show_id, Order.status.in_(SOLD)
                )
            )
        ).one()
    return LiveCounters(show_id, watching, views, int(sold[0]), int(sold[1]), currency)


def totals(lines: Sequence[ShowLine]) -> dict[str, int]:
    return {
        "shows": len(lines),
        "views": sum(line.views for line in lines),
        "orders": sum(line.orders for line in lines),
        "gmv": sum(line.gmv for line in lines),
    }
