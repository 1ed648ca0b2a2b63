"""A show's sales per product, from commerce's orders and order lines.

Joining a big show's order lines costs far more than the rest of its report (180 ms for
100,000 orders on PostgreSQL), so the result is kept in `analytics_show_sales` with a
fingerprint of the show's orders: per status, how many, their total and the sum of their ids.
Any order placed, paid, cancelled or refunded changes it, and the next report computes the
table again; otherwise the report reads the kept rows. Order lines never change once written,
so the fingerprint of the orders covers them."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import delete, distinct, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from vitrine.analytics.models import SalesMark, ShowSales, table_of
from vitrine.catalog.models import Variant
from vitrine.commerce.models import Order, OrderLine, OrderStatus
from vitrine.core.clock import utc_now
from vitrine.core.db import Database

log = logging.getLogger(__name__)

# Orders that count as sold: paid and on their way. Pending, cancelled and refunded do not.
SOLD = frozenset({OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.DELIVERED})


@dataclass(frozen=True, slots=True)
class StatusTotals:
    status: str
    orders: int
    total: int
    id_sum: int


@dataclass(frozen=True, slots=True)
class SalesLine:
    product_id: int
    status: str
    lines: int
    orders: int
    units: int
    revenue: int

    @property
    def sold(self) -> bool:
        return self.status in SOLD


@dataclass(frozen=True, slots=True)
class ShowSalesSummary:
    by_status: list[StatusTotals]
    lines: list[SalesLine]

    @property
    def orders(self) -> int:
        return sum(s.orders for s in self.by_status if s.status in SOLD)

    @property
    def gmv(self) -> int:
        return sum(s.total for s in self.by_status if s.status in SOLD)


async def status_totals(session: AsyncSession, show_id: int) -> list[StatusTotals]:
    rows = await session.execute(
        select(Order.status, func.count(), func.sum(Order.total), func.sum(Order.id))
        .where(Order.show_id == show_id)
        .group_by(Order.status)
        .order_by(Order.status)
    )
    return [
        StatusTotals(str(OrderStatus(status).value), int(n), int(total or 0), int(ids or 0))
        for status, n, total, ids in rows.all()
    ]


def fingerprint(totals: list[StatusTotals]) -> str:
    text = ";".join(f"{t.status}:{t.orders}:{t.total}:{t.id_sum}" for t in totals)
    return hashlib.sha256(text.encode()).hexdigest()


async def show_sales(db: Database, show_id: int) -> ShowSalesSummary:
    """Orders per status, and per product and status: lines, orders, units, revenue."""
    async with db.read() as session:
        totals = await status_totals(session, show_id)
        mark = fingerprint(totals)
        kept = await session.get(SalesMark, show_id)
        if kept is not None and kept.fingerprint == mark:
            rows = await session.execute(
                select(
                    ShowSales.product_id,
                    ShowSales.status,
                    ShowSales.lines,
                    ShowSales.orders,
                    ShowSales.units,
                    ShowSales.revenue,
                ).where(ShowSales.show_id == show_id)
            )
            return ShowSalesSummary(totals, [SalesLine(*row) for row in rows.all()])
        lines = await _from_order_lines(session, show_id)
    await _keep(db, show_id, mark, lines)
    return ShowSalesSummary(totals, lines)


async def _from_order_lines(session: AsyncSession, show_id: int) -> list[SalesLine]:
    rows = await session.execute(
        select(
            Variant.product_id,
            Order.status,
            func.count(),
            func.count(distinct(OrderLine.order_id)),
            func.sum(OrderLine.quantity),
            func.sum(OrderLine.quantity * OrderLine.unit_price),
        )
        .select_from(Order)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Variant, Variant.id == OrderLine.variant_id)
        .where(Order.show_id == show_id)
        .group_by(Variant.product_id, Order.status)
    )
    return [
        SalesLine(
            int(product_id),
            str(OrderStatus(status).value),
            int(n),
            int(orders),
            int(units or 0),
            int(revenue or 0),
        )
        for product_id, status, n, orders, units, revenue in rows.all()
    ]


async def _keep(db: Database, show_id: int, mark: str, lines: list[SalesLine]) -> None:
    """Store the computed table; a report racing this one may have stored it first."""
    try:
        async with db.write() as tx:
            session = tx.session
            await session.execute(delete(ShowSales).where(ShowSales.show_id == show_id))
            if lines:
                await session.execute(
                    table_of(ShowSales).insert(),
                    [
                        {
                            "show_id": show_id,
                            "product_id": line.product_id,
                            "status": line.status,
                            "lines": line.lines,
                            "orders": line.orders,
                            "units": line.units,
                            "revenue": line.revenue,
                        }
                        for line in lines
                    ],
                )
            kept = await session.get(SalesMark, show_id)
            if kept is None:
                session.add(SalesMark(show_id=show_id, fingerprint=mark, built_at=utc_now()))
            else:
                kept.fingerprint, kept.built_at = mark, utc_now()
    except IntegrityError:
        log.info("analytics: sales of show %s stored by another report meanwhile", show_id)
