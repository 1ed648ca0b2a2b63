"""Where buying is allowed, in Chromium: with VITRINE_BUY_PLATFORMS=ios,desktop an Android phone
watches the live show in a clear watch-only state, and the server refuses its purchases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE, LiveServer, start_server, stop_server
from tests.browser.live_helpers import DEMO_SHOW, OWNER, log_in, stream_arrives, watch
from tests.browser.test_buying import FLASK, NO_SIDEWAYS_SCROLL, SHOPPER, start_flash_deal

ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126 Mobile Safari/537.36"
)
WATCH_ONLY = "Watching on Android — buying is not available here yet"
REFUSED = "Buying is not available on Android yet; you can keep watching"

BUY_FROM_SCRIPT = """async (dealId) => {
  const token = decodeURIComponent(document.cookie.match(/(?:^|; )vitrine_csrf=([^;]+)/)[1]);
  const response = await fetch(`/deals/${dealId}/buy`, {
    method: "POST",
    headers: { "x-csrf-token": token, accept: "application/json" },
    body: new URLSearchParams({ idempotency_key: crypto.randomUUID() }),
  });
  return [response.status, (await response.json()).detail];
}"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    running = start_server(
        tmp_path,
        extra_env={"VITRINE_SYNC_PRODUCT_EVENTS": "false", "VITRINE_BUY_PLATFORMS": "ios,desktop"},
    )
    running.vitrine("demo")
    yield running
    stop_server(running)


async def test_an_android_phone_may_watch_but_not_buy(
    server: LiveServer, chromium: Any, tmp_path: Path
) -> None:
    await stream_arrives(server)
    host = await (await chromium.new_context(**DESKTOP)).new_page()
    await log_in(host, server, *OWNER)
    await host.goto(f"{server.url}/studio/{DEMO_SHOW}")
    await host.wait_for_function("window.vitrineLive && window.vitrineLive.status === 'live'")
    android = await (await chromium.new_context(**PHONE, user_agent=ANDROID)).new_page()
    await log_in(android, server, *SHOPPER)
    await watch(android, server)

    notice = android.locator("[data-testid=watch-only-banner]")
    await notice.wait_for(state="visible")
    assert await notice.text_content() == WATCH_ONLY
    await android.click("[data-testid=shop-tab]")
    await android.click("[data-testid=shop-item]:has-text('Trail flask')")
    sheet = android.locator(f"[data-sheet='{FLASK}']")
    await sheet.wait_for(state="visible")
    assert await sheet.locator("[data-testid=watch-only]").text_content() == WATCH_ONLY
    assert await android.locator("[data-testid=add-to-cart], [data-testid=buy-now]").count() == 0
    assert await android.evaluate(NO_SIDEWAYS_SCROLL)
    await android.screenshot(path=str(tmp_path / "watch-only.png"))
    await android.click("[data-close-drawer]")

    # A deal starts: the card shows it, without a Buy button; a scripted buy is refused.
    await start_flash_deal(host, FLASK, "19.00", 5)
    card = android.locator("[data-testid=deal-card]")
    await card.wait_for(state="visible")
    assert await card.locator("[data-testid=deal-buy]").is_hidden()
    assert await card.locator("[data-deal-said]").text_content() == WATCH_ONLY
    deal_id = await card.get_attribute("data-deal-id")
    assert await android.evaluate(BUY_FROM_SCRIPT, deal_id) == [403, REFUSED]
    await android.screenshot(path=str(tmp_path / "watch-only-deal.png"))
