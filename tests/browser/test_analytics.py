"""Issue 6's analytics in Chromium: the brand opens the analytics page of a scripted show on a
phone and reads the exact counts; the charts are there, and the page does not scroll sideways."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine

from tests.browser.conftest import DESKTOP, LiveServer, start_server, stop_server
from tests.browser.live_helpers import log_in, new_phone
from tests.factories import PASSWORD
from tests.integration.analytics.scripted import ScriptedShow, scripted_show
from vitrine.core.db import Database
from vitrine.core.migrate import alembic_config
from vitrine.models import Base


async def seeded_server(tmp: Path) -> tuple[LiveServer, ScriptedShow]:
    """A server whose database already holds the scripted show (schema from the models,
    stamped as migrated so `serve` leaves it alone)."""
    data = tmp / "var"
    data.mkdir(parents=True)
    url = f"sqlite+aiosqlite:///{data / 'vitrine.db'}"
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    await engine.dispose()
    await asyncio.to_thread(command.stamp, alembic_config(url), "head")
    db = Database(url)
    try:
        scripted = await scripted_show(db)
    finally:
        await db.dispose()
    return await asyncio.to_thread(start_server, tmp), scripted


async def no_sideways_scroll(page: Any) -> bool:
    return bool(
        await page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


async def test_the_analytics_page_of_a_scripted_show_shows_the_exact_counts(
    chromium: Any, tmp_path: Path
) -> None:
    server, scripted = await seeded_server(tmp_path)
    try:
        phone = await new_phone(chromium)
        await log_in(phone, server, scripted.owner.email, PASSWORD)
        await phone.goto(f"{server.url}/manage/{scripted.merchant.id}/analytics")
        await phone.get_by_role("link", name="Spring live").click()

        figures = phone.get_by_test_id("figures")
        await figures.wait_for()
        shown = {
            name: (await figures.locator(f"[data-metric={name}]").text_content() or "").strip()
            for name in (
                "views",
                "unique_viewers",
                "peak_viewers",
                "avg_watch",
                "chat_messages",
                "reactions",
                "product_clicks",
                "add_to_carts",
                "orders",
                "gmv",
                "followers_gained",
            )
        }
        assert shown == {
            "views": "3",
            "unique_viewers": "3",
            "peak_viewers": "3",
            "avg_watch": "10 min 00 s",
            "chat_messages": "2",
            "reactions": "5",
            "product_clicks": "2",
            "add_to_carts": "2",
            "orders": "1",
            "gmv": "49.00 EUR",
            "followers_gained": "1",
        }
        scarf = phone.locator(f"[data-testid=products] tr[data-product-id='{scripted.scarf_id}']")
        cells = [c.strip() for c in await scarf.locator("td").all_text_contents()]
        assert cells == ["Silk scarf", "2", "1", "1", "1", "49.00 EUR"]
        funnel = phone.get_by_test_id("funnel").locator("tbody tr")
        assert [
            [cell.strip() for cell in await funnel.nth(i).locator("td").all_text_contents()]
            for i in range(await funnel.count())
        ] == [
            ["Viewed", "3", "100.0 %"],
            ["Clicked a product", "2", "66.7 %"],
            ["Added to cart", "2", "66.7 %"],
            ["Ordered", "1", "33.3 %"],
        ]
        viewers_chart = phone.get_by_test_id("chart-viewers").locator("svg")
        assert await viewers_chart.get_attribute("role") == "img"
        assert await phone.get_by_test_id("chart-funnel").locator("rect.bar").count() == 4
        box = await viewers_chart.bounding_box()
        assert box is not None and box["width"] <= 390
        assert await no_sideways_scroll(phone)

        async with phone.expect_download() as download:
            await phone.get_by_test_id("export-show").click()
        saved = await (await download.value).path()
        assert "views,3" in await asyncio.to_thread(Path(saved).read_text)

        desktop = await (await chromium.new_context(**DESKTOP)).new_page()
        await log_in(desktop, server, scripted.owner.email, PASSWORD)
        await desktop.goto(f"{server.url}/studio/{scripted.show_id}")
        counters = desktop.get_by_test_id("live-counters")
        await counters.locator("[data-counter=views]").filter(has_text="3").wait_for()
        assert "49.00" in (await counters.locator("[data-counter=gmv_text]").text_content() or "")
    finally:
        await asyncio.to_thread(stop_server, server)
