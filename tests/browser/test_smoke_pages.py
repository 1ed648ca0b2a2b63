"""Every public page renders in Chromium on a phone, without script errors."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import LiveServer


async def test_the_demo_home_brand_and_show_pages_render_on_a_phone(
    live_server: LiveServer, page: Any
) -> None:
    live_server.vitrine("demo")
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    await page.goto(live_server.url + "/")
    await page.get_by_role("heading", name="Upcoming").wait_for()
    await page.locator("[data-testid=upcoming] .show-card").first.click()
    await page.get_by_role("heading", name="Winter layers, live").wait_for()
    countdown = await page.locator("[data-testid=countdown]").text_content()
    assert countdown.startswith("Starts in ")

    await page.goto(live_server.url + "/brands/northwind")
    assert await page.locator("[data-testid=shop] .product-card").count() == 4
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing wider than the phone's screen
    assert problems == []
