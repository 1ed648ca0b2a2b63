"""Analytics pages: the report of a show, a brand's shows compared, the operator's view across
brands, their CSV files, the studio's live counters, and the click beacon of the show page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from vitrine.accounts import merchants
from vitrine.accounts.models import Merchant
from vitrine.analytics import charts, csv_export
from vitrine.analytics.access import require_analytics
from vitrine.analytics.report import ShowLine, ShowReport, compare_shows, live_counters, totals
from vitrine.analytics.report import show_report as build_show_report
from vitrine.core.errors import NotFound, RateLimited, ValidationFailed
from vitrine.core.money import minor_digits
from vitrine.shows import listing, schedule
from vitrine.web.auth import page_actor
from vitrine.web.pages.common import render
from vitrine.web.services import Services, services_of


def _hhmm(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def _major(minor: int, currency: str) -> int:
    return minor // int(10 ** minor_digits(currency))


def show_charts(report: ShowReport) -> dict[str, charts.Chart]:
    viewers = [(_hhmm(p.at), p.viewers) for p in report.viewers_per_minute]
    return {
        "viewers": charts.line_chart(viewers),
        "funnel": charts.bar_chart([(s.label, s.count) for s in report.funnel]),
    }


def comparison_charts(lines: list[ShowLine]) -> dict[str, charts.Chart]:
    def label(line: ShowLine) -> str:
        return line.at.strftime("%d %b")

    currency = lines[0].currency if lines else "EUR"
    return {
        "gmv": charts.bar_chart(
            [(label(ln), _major(ln.gmv, ln.currency)) for ln in lines], unit=f" {currency}"
        ),
        "views": charts.bar_chart([(label(ln), ln.views) for ln in lines], unit=" views"),
        "orders": charts.bar_chart([(label(ln), ln.orders) for ln in lines], unit=" orders"),
    }


async def _report_for(
    request: Request[Any, Any, Any], merchant_id: int, show_id: int
) -> tuple[Services, ShowReport]:
    services = services_of(request)
    require_analytics(await page_actor(request), merchant_id)
    report = await build_show_report(services.db, show_id)
    if report.merchant_id != merchant_id:
        raise NotFound(f"No show #{show_id} of this brand")
    return services, report


async def _merchant_for(request: Request[Any, Any, Any], merchant_id: int) -> Merchant:
    require_analytics(await page_actor(request), merchant_id)
    return await merchants.get_merchant(services_of(request).db, merchant_id)


def _csv(data: str, filename: str) -> Response[bytes]:
    return Response(
        data.encode(),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "cache-control": "no-store",
        },
    )


@get("/manage/{merchant_id:int}/shows/{show_id:int}/analytics")
async def show_analytics(
    request: Request[Any, Any, Any], merchant_id: FromPath[int], show_id: FromPath[int]
) -> Template:
    services, report = await _report_for(request, merchant_id, show_id)
    merchant = await merchants.get_merchant(services.db, merchant_id)
    return await render(
        request,
        "analytics/show.html",
        merchant=merchant,
        report=report,
        charts=show_charts(report),
    )


@get("/manage/{merchant_id:int}/shows/{show_id:int}/analytics.csv")
async def show_analytics_csv(
    request: Request[Any, Any, Any], merchant_id: FromPath[int], show_id: FromPath[int]
) -> Response[bytes]:
    _services, report = await _report_for(request, merchant_id, show_id)
    return _csv(csv_export.show_report_csv(report), f"show-{show_id}-analytics.csv")


@get("/manage/{merchant_id:int}/analytics")
async def brand_analytics(request: Request[Any, Any, Any], merchant_id: FromPath[int]) -> Template:
    merchant = await _merchant_for(request, merchant_id)
    lines = await compare_shows(services_of(request).db, merchant_id=merchant_id)
    return await render(
        request,
        "analytics/brand.html",
        merchant=merchant,
        lines=lines,
        totals=totals(lines),
        charts=comparison_charts(lines),
    )


@get("/manage/{merchant_id:int}/analytics.csv")
async def brand_analytics_csv(
    request: Request[Any, Any, Any], merchant_id: FromPath[int]
) -> Response[bytes]:
    merchant = await _merchant_for(request, merchant_id)
    lines = await compare_shows(services_of(request).db, merchant_id=merchant_id)
    return _csv(csv_export.comparison_csv(lines), f"{merchant.handle}-shows.csv")


@get("/admin/analytics")
async def operator_analytics(request: Request[Any, Any, Any]) -> Template:
    (await page_actor(request)).require_operator()
    lines = await compare_shows(services_of(request).db)
    brands: dict[int, dict[str, Any]] = {}
    for line in lines:
        brand = brands.setdefault(
            line.merchant_id,
            {
                "name": line.brand_name,
                "id": line.merchant_id,
                "currency": line.currency,
                "shows": 0,
                "views": 0,
                "orders": 0,
                "gmv": 0,
            },
        )
        brand["shows"] += 1
        brand["views"] += line.views
        brand["orders"] += line.orders
        brand["gmv"] += line.gmv
    return await render(
        request,
        "analytics/operator.html",
        lines=lines,
        brands=sorted(brands.values(), key=lambda b: -int(b["gmv"])),
        charts=comparison_charts(lines),
    )


@get("/admin/analytics.csv")
async def operator_analytics_csv(request: Request[Any, Any, Any]) -> Response[bytes]:
    (await page_actor(request)).require_operator()
    lines = await compare_shows(services_of(request).db)
    return _csv(csv_export.comparison_csv(lines), "all-shows.csv")


@get("/studio/{show_id:int}/analytics.json")
async def studio_counters(request: Request[Any, Any, Any], show_id: FromPath[int]) -> Response[Any]:
    """Polled by the studio every few seconds while the show runs."""
    services = services_of(request)
    actor = await page_actor(request)
    card = await listing.get_show(services.db, show_id)
    async with services.db.read() as session:
        hosts_it = actor.signed_in and await schedule.is_host(session, actor, card.show)
    if not hosts_it:
        require_analytics(actor, card.merchant.id)
    edge = services.edge
    watching = edge.viewers_here(str(show_id)) if edge else 0
    if services.views is not None:
        watching = max(watching, services.views.watching(show_id))
    counters = await live_counters(services.db, show_id, watching)
    return Response(
        {
            "show_id": counters.show_id,
            "watching": counters.watching,
            "views": counters.views,
            "orders": counters.orders,
            "gmv": counters.gmv,
            "gmv_text": csv_export.amount(counters.gmv, counters.currency)
            + f" {counters.currency}",
            "currency": counters.currency,
        },
        headers={"cache-control": "no-store"},
    )


class Click(msgspec.Struct, frozen=True):
    product_id: int


@post("/shows/{show_id:int}/clicks", status_code=204)
async def product_click(request: Request[Any, Any, Any], show_id: FromPath[int]) -> None:
    """The show page opened a product's card or the shop banner: counted, buffered, no write
    here. Unknown products are dropped when the report reads the counters."""
    try:
        click = msgspec.json.decode(await request.body(), type=Click)
    except msgspec.DecodeError:
        raise ValidationFailed({"product_id": 'Send {"product_id": <number>}'}) from None
    if not 0 < click.product_id < 2**31 or not 0 < show_id < 2**31:
        raise ValidationFailed({"product_id": "No such product"})
    services = services_of(request)
    views = services.views
    if views is None:
        return
    # A person opens a few products a minute; more is a script inflating the counts.
    who = request.cookies.get("vitrine_csrf") or (request.client.host if request.client else "")
    wait = await services.limiter.hit(f"clicks:{show_id}:{who}", limit=30, window_s=60)
    if wait:
        raise RateLimited("Too many clicks counted; slow down", retry_after_s=int(wait) + 1)
    if show_id not in views.known_shows:
        await listing.get_show(services.db, show_id)  # NotFound for a show that never was
        views.known_shows.add(show_id)
    views.product_clicked(show_id, click.product_id)


routes = [
    show_analytics,
    show_analytics_csv,
    brand_analytics,
    brand_analytics_csv,
    operator_analytics,
    operator_analytics_csv,
    studio_counters,
    product_click,
]
