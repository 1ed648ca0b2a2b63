"""Issue 5's done-when, in Chromium: on a phone, a shopper watches the live demo show, opens the
pinned product over the video, wins a flash deal the host starts from the studio and pays with
the test card without leaving the page; the merchant sees the paid order and its commission."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, LiveServer, start_server, stop_server
from tests.browser.live_helpers import (
    DEMO_SHOW,
    OWNER,
    log_in,
    new_phone,
    stream_arrives,
    watch,
)

SHOPPER = ("shopper@vitrine.local", "vitrine-shopper")
FLASK = 3  # the demo's "Trail flask 500 ml": one variant, 24.00 EUR, 80 in stock
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    running = start_server(tmp_path, extra_env={"VITRINE_SYNC_PRODUCT_EVENTS": "false"})
    running.vitrine("demo")
    yield running
    stop_server(running)


async def fits_a_phone(page: Any, shots: Path, name: str) -> None:
    """No horizontal scroll at 390 px; a screenshot to look at."""
    assert await page.evaluate(NO_SIDEWAYS_SCROLL), f"{name} scrolls sideways"
    await page.screenshot(path=str(shots / f"{name}.png"), full_page=False)


async def start_flash_deal(host: Any, product_id: int, price: str, units: int) -> None:
    form = host.locator("[data-testid=start-deal]")
    # a product of one variant is one line of the list, named by its title
    line = form.locator(f"option[data-product='{product_id}']")
    assert await line.count() == 1
    await form.locator("select[name=variant_id]").select_option(await line.get_attribute("value"))
    await form.locator("input[name=deal_price]").fill(price)
    await form.locator("input[name=quantity]").fill(str(units))
    await form.locator("select[name=duration_s]").select_option("300")
    await form.locator("button[type=submit]").click()


async def test_a_phone_viewer_buys_in_a_flash_deal_and_the_merchant_sees_the_commission(
    server: LiveServer, chromium: Any, tmp_path: Path
) -> None:
    shots = tmp_path / "shots"
    shots.mkdir()
    await stream_arrives(server)
    host = await (await chromium.new_context(**DESKTOP)).new_page()
    await log_in(host, server, *OWNER)
    await host.goto(f"{server.url}/studio/{DEMO_SHOW}")
    await host.wait_for_function("window.vitrineLive && window.vitrineLive.status === 'live'")

    shopper = await new_phone(chromium)
    await log_in(shopper, server, *SHOPPER)
    await watch(shopper, server)
    await fits_a_phone(shopper, shots, "live")

    # The Shop tab lists the lineup over the video; a product's sheet has its stock.
    await shopper.click("[data-testid=shop-tab]")
    await shopper.locator("[data-testid=shop-item]").first.wait_for()
    assert await shopper.locator("[data-testid=shop-item]").count() == 4
    await shopper.click("[data-testid=shop-item]:has-text('Trail flask')")
    sheet = shopper.locator(f"[data-sheet='{FLASK}']")
    await sheet.wait_for(state="visible")
    assert await sheet.locator("[data-testid=stock-left]").text_content() == "80 left"
    await fits_a_phone(shopper, shots, "sheet")
    await shopper.click(f"[data-sheet='{FLASK}'] [data-close-sheet]")
    await shopper.click("[data-close-drawer]")

    # The host pins the flask: the banner's Shop button opens its sheet.
    await host.click(f"[data-pin='{FLASK}']")
    banner = shopper.locator("[data-testid=shop-banner]")
    await banner.wait_for(state="visible")
    await banner.locator("[data-testid=banner-shop]").click()
    await sheet.wait_for(state="visible")
    await shopper.click("[data-close-drawer]")

    # A flash deal: 5 flasks at 19.00; a double tap on Buy makes one order.
    await start_flash_deal(host, FLASK, "19.00", 5)
    card = shopper.locator("[data-testid=deal-card]")
    await card.wait_for(state="visible")
    assert await card.locator("[data-deal-title]").text_content() == "Trail flask 500 ml"
    assert await card.locator("[data-deal-left]").text_content() == "5 left"
    await fits_a_phone(shopper, shots, "deal")
    # The 5 deal units left the regular stock: the open sheet says so without a reload.
    await banner.locator("[data-testid=banner-shop]").click()
    await sheet.locator("[data-testid=stock-left]", has_text="75 left").wait_for()
    await shopper.click("[data-close-drawer]")
    await card.locator("[data-testid=deal-buy]").dblclick()
    pay = card.locator("[data-deal-pay]")
    await pay.wait_for(state="visible")
    await card.locator("[data-deal-left]", has_text="4 left").wait_for()
    await pay.locator("input[name=name]").fill("Sam Shopper")
    await pay.locator("input[name=line1]").fill("1 Harbour Road")
    await pay.locator("input[name=postal_code]").fill("75002")
    await pay.locator("input[name=city]").fill("Paris")
    await pay.locator("input[name=country]").fill("FR")
    await pay.locator("input[name=card_number]").fill("4242 4242 4242 4242")
    await fits_a_phone(shopper, shots, "deal-pay")
    await card.locator("[data-testid=deal-pay]").click()
    said = card.locator("[data-deal-said]")
    await said.locator("a").wait_for()
    assert (await said.text_content() or "").startswith("Paid. Thank you! — order #")
    assert shopper.url == f"{server.url}/shows/{DEMO_SHOW}"  # never left the show
    assert await shopper.locator("[data-stage] video").count() == 1
    await fits_a_phone(shopper, shots, "deal-paid")
    order_id = (await said.locator("a").get_attribute("href") or "").rsplit("/", 1)[1]

    # The shopper's order page says paid; it fits a phone.
    await shopper.goto(f"{server.url}/orders/{order_id}")
    status = shopper.locator("[data-testid=order-status]")
    assert await status.text_content() == "Paid"
    await fits_a_phone(shopper, shots, "order")
    await shopper.goto(f"{server.url}/orders")
    await fits_a_phone(shopper, shots, "orders")

    # The merchant sees the paid order and its commission entries, on a phone too.
    merchant = await new_phone(chromium)
    await log_in(merchant, server, *OWNER)
    await merchant.goto(f"{server.url}/manage")
    merchant_id = merchant.url.rstrip("/").rsplit("/", 1)[1]
    await merchant.goto(f"{server.url}/manage/{merchant_id}/orders?status=paid")
    row = merchant.locator(f"[data-order-id='{order_id}']")
    assert await row.get_attribute("data-status") == "paid"
    await fits_a_phone(merchant, shots, "merchant-orders")
    await row.locator("a").click()
    ledger = merchant.locator("[data-testid=ledger]")
    await ledger.wait_for()
    kinds = await ledger.locator("tr[data-kind]").evaluate_all(
        "rows => rows.map(r => [r.dataset.kind, r.cells[1].textContent])"
    )
    assert [kind for kind, _ in kinds] == ["gross", "commission", "payable"]
    assert kinds[0][1] != kinds[1][1]
    await fits_a_phone(merchant, shots, "merchant-order")
    await merchant.goto(f"{server.url}/manage/{merchant_id}/payouts")
    await merchant.locator("[data-testid=payout-report]").wait_for()
    await fits_a_phone(merchant, shots, "payouts")


async def test_a_phone_adds_to_the_cart_and_checks_out_with_a_mini_player(
    server: LiveServer, chromium: Any, tmp_path: Path
) -> None:
    shots = tmp_path / "shots"
    shots.mkdir()
    await stream_arrives(server)
    shopper = await new_phone(chromium)
    await watch(shopper, server)  # a guest: the cart is kept when they log in

    await shopper.click("[data-testid=shop-tab]")
    await shopper.click("[data-testid=shop-item]:has-text('Wool blanket')")
    await shopper.click("[data-sheet='4'] [data-testid=add-to-cart]")
    await shopper.locator("[data-sheet='4'] [data-sheet-said]", has_text="Added").wait_for()
    await shopper.click("[data-sheet='4'] [data-testid=buy-now]")  # a second blanket, then pay
    await shopper.wait_for_url("**/login?next=**")
    await shopper.fill("#f-email", SHOPPER[0])
    await shopper.fill("#f-password", SHOPPER[1])
    await shopper.click("form[action='/login'] button[type=submit]")
    await shopper.wait_for_url("**/checkout?show=1")
    assert await shopper.locator("[data-testid=mini-player]").count() == 1
    assert await shopper.locator("[data-testid=total]").text_content() != ""
    await fits_a_phone(shopper, shots, "checkout")
    await shopper.goto(f"{server.url}/cart")
    quantity = shopper.locator(".cart-line input[type=number]")
    assert await quantity.input_value() == "2"  # added as a guest, kept at log-in
    await fits_a_phone(shopper, shots, "cart")
    await shopper.goto(f"{server.url}/checkout?show={DEMO_SHOW}")
    await shopper.fill("#f-name", "Sam Shopper")
    await shopper.fill("#f-line1", "1 Harbour Road")
    await shopper.fill("#f-postal_code", "75002")
    await shopper.fill("#f-city", "Paris")
    await shopper.fill("#f-country", "FR")
    await shopper.click("[data-testid=place-order]")
    await shopper.wait_for_url("**/pay*")
    assert await shopper.locator("[data-testid=mini-player]").count() == 1
    await shopper.fill("#f-card_number", "4000 0000 0000 0002")
    await shopper.click("[data-testid=pay]")
    refusal = shopper.locator("[data-testid=refusal]")
    assert await refusal.text_content() == "Your card was declined; try another card"
    await fits_a_phone(shopper, shots, "declined")
    await shopper.fill("#f-card_number", "4000 0027 6000 3184")
    await shopper.click("[data-testid=pay]")
    await shopper.click("[data-testid=confirm-bank]")
    await shopper.wait_for_url("**/orders/*")
    assert await shopper.locator("[data-testid=order-status]").text_content() == "Paid"
    lines = await shopper.locator(".summary-lines li").all_text_contents()
    assert len(lines) == 1 and lines[0].startswith("2 × Wool blanket")
    await shopper.goto(f"{server.url}/cart")
    await fits_a_phone(shopper, shots, "cart-empty")
