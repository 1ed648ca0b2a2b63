"""The analytics pages over HTTP: who may see them, what they show, the CSV files, the studio's
live counters and the click beacon."""

from __future__ import annotations

import asyncio
import csv
import io

from tests.factories import make_user
from tests.integration.analytics.scripted import scripted_show
from tests.web import CSRF_COOKIE, Browser
from vitrine.analytics.report import show_report
from vitrine.core.db import Database


async def test_the_brand_sees_its_show_report_with_charts_and_exact_figures(
    db: Database, browser: Browser
) -> None:
    scripted = await scripted_show(db)
    await browser.log_in(scripted.owner.email)

    page = await browser.get(f"/manage/{scripted.merchant.id}/shows/{scripted.show_id}/analytics")

    assert page.status_code == 200, page.text
    html = page.text
    assert 'data-metric="views">3<' in html
    assert 'data-metric="peak_viewers">3<' in html
    assert 'data-metric="avg_watch">10 min 00 s<' in html
    assert 'data-metric="orders">1<' in html
    assert "49.00" in html
    assert html.count("<svg") == 2 and "<title" in html and "<script>" not in html


async def test_csv_exports_of_the_show_and_of_the_comparison(
    db: Database, browser: Browser
) -> None:
    scripted = await scripted_show(db)
    await browser.log_in(scripted.owner.email)
    base = f"/manage/{scripted.merchant.id}"

    one = await browser.get(f"{base}/shows/{scripted.show_id}/analytics.csv")
    many = await browser.get(f"{base}/analytics.csv")

    assert one.status_code == 200 and one.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(one.text)))
    figures = {row[0]: row[1] for row in rows if len(row) == 2}
    assert figures["views"] == "3" and figures["gmv"] == "49.00" and figures["orders"] == "1"
    assert ["product_id", "product", "clicks", "add_to_carts", "orders", "units", "revenue"] in rows
    assert [str(scripted.scarf_id), "Silk scarf", "2", "1", "1", "1", "49.00"] in rows
    table = list(csv.DictReader(io.StringIO(many.text)))
    assert [(r["show_id"], r["views"], r["orders"], r["gmv"]) for r in table] == [
        (str(scripted.show_id), "3", "1", "49.00")
    ]


async def test_only_the_brands_people_and_the_operator_see_a_shows_analytics(
    db: Database, browser: Browser
) -> None:
    scripted = await scripted_show(db)
    await make_user(db, "stranger@example.com")
    await make_user(db, "op@example.com", operator=True)
    path = f"/manage/{scripted.merchant.id}/shows/{scripted.show_id}/analytics"

    guest = await browser.get(path, follow_redirects=False)
    await browser.log_in("stranger@example.com")
    stranger = await browser.get(path)
    stranger_csv = await browser.get(path + ".csv")
    stranger_brand = await browser.get(f"/manage/{scripted.merchant.id}/analytics")
    stranger_admin = await browser.get("/admin/analytics")
    await browser.log_in("op@example.com")
    operator = await browser.get(path)
    operator_all = await browser.get("/admin/analytics")
    wrong_brand = await browser.get(
        f"/manage/{scripted.merchant.id + 99}/shows/{scripted.show_id}/analytics"
    )

    assert guest.status_code in (302, 303, 401)
    assert stranger.status_code == 403
    assert stranger_csv.status_code == 403
    assert stranger_brand.status_code == 403
    assert stranger_admin.status_code == 403
    assert operator.status_code == 200
    assert operator_all.status_code == 200 and "Atelier" in operator_all.text
    assert wrong_brand.status_code == 404


async def test_the_studio_polls_live_counters(db: Database, browser: Browser) -> None:
    scripted = await scripted_show(db)
    await browser.log_in(scripted.owner.email)

    counters = await browser.get(f"/studio/{scripted.show_id}/analytics.json")

    assert counters.status_code == 200
    assert counters.json() == {
        "show_id": scripted.show_id,
        "watching": 0,
        "views": 3,
        "orders": 1,
        "gmv": 4900,
        "gmv_text": "49.00 EUR",
        "currency": "EUR",
    }


async def test_a_product_click_is_counted_after_the_next_flush(
    db: Database, browser: Browser
) -> None:
    scripted = await scripted_show(db)
    await browser.log_in("ana@atelier.example")
    headers = {"content-type": "application/json", "x-csrf-token": browser.cookies[CSRF_COOKIE]}

    ok = await browser.request(
        "POST",
        f"/shows/{scripted.show_id}/clicks",
        content=f'{{"product_id": {scripted.hat_id}}}',
        headers=headers,
    )
    bad = await browser.request(
        "POST", f"/shows/{scripted.show_id}/clicks", content="not json", headers=headers
    )
    no_show = await browser.request(
        "POST", "/shows/999999/clicks", content='{"product_id": 1}', headers=headers
    )

    assert ok.status_code == 204
    assert bad.status_code in (400, 422)
    assert no_show.status_code == 404
    for _ in range(40):  # the app writes its buffer every second
        report = await show_report(db, scripted.show_id)
        if report.product_clicks == 3:
            break
        await asyncio.sleep(0.1)
    assert report.product_clicks == 3
    assert {p.product_id: p.clicks for p in report.products}[scripted.hat_id] == 1


async def test_a_script_clicking_fast_is_told_to_slow_down(db: Database, browser: Browser) -> None:
    scripted = await scripted_show(db)
    await browser.get("/login")
    headers = {"content-type": "application/json", "x-csrf-token": browser.cookies[CSRF_COOKIE]}
    body = f'{{"product_id": {scripted.mug_id}}}'

    answers = [
        (
            await browser.request(
                "POST", f"/shows/{scripted.show_id}/clicks", content=body, headers=headers
            )
        ).status_code
        for _ in range(31)
    ]

    assert answers[:30] == [204] * 30
    assert answers[30] == 429
