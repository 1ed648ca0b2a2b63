"""The reports as CSV files: amounts in major units with the currency, times in UTC ISO 8601,
cells that a spreadsheet would run as formulas neutralised."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from vitrine.analytics.report import ShowLine, ShowReport
from vitrine.core.money import minor_digits


def amount(minor: int, currency: str) -> str:
    digits = minor_digits(currency)
    if digits == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, part = divmod(abs(minor), 10**digits)
    return f"{sign}{whole}.{part:0{digits}d}"


def _cell(value: object) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def show_report_csv(report: ShowReport) -> str:
    """The figures of one show, then its per-product table, in one sheet."""
    cur = report.currency
    rows: list[Sequence[object]] = [
        ("metric", "value"),
        ("show_id", report.show_id),
        ("title", report.title),
        ("brand", report.brand_name),
        ("started_at", report.started_at.isoformat() if report.started_at else ""),
        ("ended_at", report.ended_at.isoformat() if report.ended_at else ""),
        ("views", report.views),
        ("unique_viewers", report.unique_viewers),
        ("peak_concurrent_viewers", report.peak_viewers),
        ("average_watch_seconds", report.avg_watch_s),
        ("chat_messages", report.chat_messages),
        ("reactions", report.reactions),
        ("product_clicks", report.product_clicks),
        ("add_to_carts", report.add_to_carts),
        ("orders", report.orders),
        ("gmv", amount(report.gmv, cur)),
        ("currency", cur),
        ("followers_gained", report.followers_gained),
        (),
        ("product_id", "product", "clicks", "add_to_carts", "orders", "units", "revenue"),
    ]
    rows.extend(
        (p.product_id, p.title, p.clicks, p.carts, p.orders, p.units, amount(p.revenue, cur))
        for p in report.products
    )
    return _csv(rows)


def comparison_csv(lines: Sequence[ShowLine]) -> str:
    """Shows over time: one row per show."""
    header = (
        "show_id",
        "title",
        "brand",
        "status",
        "started_at",
        "views",
        "unique_viewers",
        "orders",
        "gmv",
        "currency",
    )
    return _csv(
        [
            header,
            *(
                (
                    ln.show_id,
                    ln.title,
                    ln.brand_name,
                    ln.status,
                    ln.at.isoformat(),
                    ln.views,
                    ln.unique_viewers,
                    ln.orders,
                    amount(ln.gmv, ln.currency),
                    ln.currency,
                )
                for ln in lines
            ),
        ]
    )
