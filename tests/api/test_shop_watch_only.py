"""Where buying is allowed: with VITRINE_BUY_PLATFORMS=ios,desktop an Android phone may watch
but not buy. The shop says so instead of showing Buy buttons, and the server refuses."""

from __future__ import annotations

import dataclasses

import pytest

from tests.api.shop_helpers import ADDRESS, ANDROID, IPHONE, live_shop, start_deal
from tests.api.test_shop_pages import post_json
from tests.web import Browser
from vitrine.config import Settings
from vitrine.core.db import Database

WATCH_ONLY = "Watching on Android — buying is not available here yet"
REFUSED = "Buying is not available on Android yet; you can keep watching"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, buy_platforms=("ios", "desktop"))


async def test_an_android_phone_sees_the_watch_only_state_instead_of_buy_buttons(
    db: Database, browser: Browser
) -> None:
    shop = await live_shop(db)

    android = await browser.get(f"/shows/{shop.show_id}/shop", headers={"user-agent": ANDROID})
    iphone = await browser.get(f"/shows/{shop.show_id}/shop", headers={"user-agent": IPHONE})
    forced = await browser.get(f"/shows/{shop.show_id}/shop?platform=android")

    assert f'data-testid="watch-only" role="status">{WATCH_ONLY}</p>' in android.text
    assert 'data-may-buy="0"' in android.text
    assert 'data-testid="add-to-cart"' not in android.text
    assert 'data-testid="buy-now"' not in android.text
    assert 'data-may-buy="1"' in iphone.text and 'data-testid="buy-now"' in iphone.text
    assert 'data-may-buy="0"' in forced.text


async def test_the_server_refuses_a_purchase_from_android(db: Database, browser: Browser) -> None:
    shop = await live_shop(db)
    deal_id = await start_deal(db, shop, quantity=2)
    await browser.sign_up("ana@example.com", "Ana")
    await browser.submit("/cart/add", {"variant_id": shop.scarf_s})
    browser.client.headers["user-agent"] = ANDROID
    try:
        tap = await post_json(browser, f"/deals/{deal_id}/buy", {"idempotency_key": "tap-1"})
        checkout = await browser.submit("/checkout", {**ADDRESS, "idempotency_key": "k-1"})
    finally:
        del browser.client.headers["user-agent"]
    from_ios = await post_json(
        browser, f"/deals/{deal_id}/buy?platform=ios", {"idempotency_key": "tap-2"}
    )

    assert tap == (
        403,
        {
            "type": "about:blank",
            "title": "Buying not available here",
            "status": 403,
            "detail": REFUSED,
        },
    )
    assert checkout.status_code == 403
    assert f'data-testid="refusal">{REFUSED}</div>' in checkout.text
    assert from_ios[0] == 201
