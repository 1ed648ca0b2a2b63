"""Every public page renders in Chromium on a phone, without script errors."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import LiveServer
from tests.browser.live_helpers import OWNER, log_in


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
    # The page says "Starting soon" until its script has counted down once.
    countdown = page.locator("[data-testid=countdown]")
    await page.wait_for_function(
        "el => el.textContent.startsWith('Starts in ')", arg=await countdown.element_handle()
    )

    await page.goto(live_server.url + "/brands/northwind")
    assert await page.locator("[data-testid=shop] .product-card").count() == 4
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing wider than the phone's screen
    assert problems == []


async def test_on_a_phone_a_signed_in_merchant_reaches_every_top_bar_link_through_the_menu(
    live_server: LiveServer, page: Any
) -> None:
    live_server.vitrine("demo")
    await log_in(page, live_server, *OWNER)
    await page.goto(live_server.url + "/manage")
    topbar = page.locator("[data-topbar]")
    menu = page.locator("[data-menu-toggle]")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    assert await topbar.get_by_role("link", name="Orders").is_hidden()
    assert await menu.get_attribute("aria-expanded") == "false"

    await menu.click()
    assert await menu.get_attribute("aria-expanded") == "true"
    links = [text.strip() for text in await topbar.locator("#account-menu > a").all_inner_texts()]
    assert links == ["Shopping Manager", "Orders", "Notifications"]
    assert await topbar.get_by_role("button", name="Log out Northwind").is_visible()

    await topbar.get_by_role("link", name="Orders").click()
    await page.wait_for_url(live_server.url + "/orders")
    await page.locator("[data-menu-toggle]").click()
    await page.keyboard.press("Escape")
    assert await page.locator("[data-menu-toggle]").get_attribute("aria-expanded") == "false"
