"""The live page's shop, the cart and checkout, and flash-deal taps, through the pages a
browser uses (forms with the CSRF token; the live page's scripts send JSON)."""

from __future__ import annotations

import re
from typing import Any

from tests.api.shop_helpers import ADDRESS, live_shop, start_deal, stock_of
from tests.web import CSRF_COOKIE, Browser
from vitrine.commerce.external import ExternalClicks
from vitrine.core.db import Database

JSON = {"accept": "application/json"}


async def post_json(
    browser: Browser, path: str, fields: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    """What shop.js does: a form body, the CSRF token in a header, JSON back."""
    if browser.cookies.get(CSRF_COOKIE) is None:
        await browser.get("/login")
    headers = {**JSON, "x-csrf-token": browser.cookies.get(CSRF_COOKIE) or ""}
    response = await browser.request("POST", path, data=fields, headers=headers)
    return response.status_code, response.json()


async def test_the_shop_tab_lists_the_lineup_with_sizes_prices_and_stock(
    db: Database, browser: Browser
) -> None:
    shop = await live_shop(db)

    page = await browser.get(f"/shows/{shop.show_id}/shop")

    assert page.status_code == 200
    assert page.text.count('data-testid="shop-item"') == 2
    assert "Silk scarf" in page.text and "Walnut bowl" in page.text
    assert f'value="{shop.scarf_s}" data-price="40.00 EUR" data-compare="50.00 EUR"' in page.text
    assert (
        f'value="{shop.scarf_m}" data-price="40.00 EUR" data-compare="" data-stock="0"' in page.text
    )
    assert (
        '<p class="stock" data-stock-left data-testid="stock-left" aria-live="polite">3 left</p>'
        in page.text
    )
    assert 'data-testid="add-to-cart"' in page.text and 'data-testid="buy-now"' in page.text
    assert (
        f'<a class="button" href="/shows/{shop.show_id}/products/{shop.bowl_id}/visit" '
        'target="_blank" rel="noopener" data-testid="external-link">'
    ) in page.text
    assert 'data-testid="watch-only"' not in page.text


async def test_the_live_page_has_the_shop_tab_and_the_deal_card(
    db: Database, browser: Browser
) -> None:
    shop = await live_shop(db)

    page = await browser.get(f"/shows/{shop.show_id}")

    assert 'data-testid="shop-tab"' in page.text
    assert f'data-shop-url="/shows/{shop.show_id}/shop"' in page.text
    assert 'data-testid="deal-card"' in page.text
    assert '<link rel="stylesheet" href="/static/css/shop.css">' in page.text
    assert "<script>" not in page.text and "style=" not in page.text


async def test_a_click_to_the_brands_own_page_is_counted_for_the_show(
    db: Database, browser: Browser
) -> None:
    shop = await live_shop(db)

    visit = await browser.get(
        f"/shows/{shop.show_id}/products/{shop.bowl_id}/visit", follow_redirects=False
    )
    no_page = await browser.get(f"/shows/{shop.show_id}/products/{shop.scarf_id}/visit")

    assert visit.status_code == 303
    assert visit.headers["location"] == "https://nw.example/bowl"
    assert no_page.status_code == 404
    assert "This product has no page of its own in this show" in no_page.text
    assert await ExternalClicks(db).clicks(shop.show_id) == {shop.bowl_id: 1}


async def test_a_guest_cart_survives_reloads_and_is_kept_at_sign_up(
    db: Database, browser: Browser
) -> None:
    shop = await live_shop(db)

    added = await browser.submit(
        "/cart/add", {"variant_id": shop.scarf_s, "quantity": "2", "show_id": shop.show_id}
    )
    cookie = added.headers["set-cookie"]
    reloaded = await browser.get("/cart")
    count = await browser.get("/cart/count")
    await browser.sign_up("ana@example.com", "Ana")
    mine = await browser.get("/cart")

    assert added.status_code == 303 and added.headers["location"] == "/cart"
    assert cookie.startswith("vitrine_cart=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Silk scarf" in reloaded.text and 'value="2"' in reloaded.text
    assert count.json() == {"count": 2}
    assert "Silk scarf" in mine.text and 'value="2"' in mine.text
    assert (await browser.get("/cart/count")).json() == {"count": 2}


async def test_checkout_shows_totals_places_one_order_per_key_and_pays_after_a_decline(
    db: Database, browser: Browser
) -> None:
    shop = await live_shop(db)
    await browser.sign_up("ana@example.com", "Ana")
    await browser.submit("/cart/add", {"variant_id": shop.scarf_s, "quantity": "2"})

    summary = await browser.get("/checkout")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', summary.text)
    assert key is not None
    form = {**ADDRESS, "idempotency_key": key.group(1), "show": str(shop.show_id)}
    missing = await browser.submit("/checkout", {**form, "line1": ""})
    placed = await browser.submit("/checkout", form)
    again = await browser.submit("/checkout", form)  # a double tap on "Place order"
    pay_url = placed.headers["location"]
    order_id = int(pay_url.split("/")[2])
    declined = await browser.submit(pay_url.split("?")[0], {"card_number": "4000 0000 0000 0002"})
    paid = await browser.submit(pay_url.split("?")[0], {"card_number": "4242 4242 4242 4242"})
    order = await browser.get(f"/orders/{order_id}")

    assert "<dt>Subtotal</dt><dd>80.00 EUR</dd>" in summary.text
    assert "<dt>Shipping</dt><dd>5.00 EUR</dd>" in summary.text
    assert "<dt>Tax</dt><dd>16.00 EUR</dd>" in summary.text
    assert '<dd data-testid="total"><strong>101.00 EUR</strong></dd>' in summary.text
    assert missing.status_code == 422
    assert (
        '<p class="error" id="e-line1" data-error-for="line1">Required for delivery</p>'
        in missing.text
    )
    assert placed.status_code == 303 and pay_url == f"/orders/{order_id}/pay?show={shop.show_id}"
    assert again.headers["location"] == pay_url
    assert declined.status_code == 402
    assert "Your card was declined; try another card" in declined.text
    assert paid.status_code == 303 and paid.headers["location"] == f"/orders/{order_id}"
    assert 'data-testid="order-status" data-status-label>Paid</span>' in order.text
    assert 'data-kind="placed"' in order.text and 'data-kind="paid"' in order.text
    assert (await browser.get(f"/orders/{order_id}/status")).json() == {
        "status": "paid",
        "label": "Paid",
    }
    assert f'data-order-id="{order_id}" data-status="paid"' in (await browser.get("/orders")).text
    assert (await browser.get("/cart/count")).json() == {"count": 0}
    assert await stock_of(db, shop.scarf_s) == 1


async def test_a_card_that_needs_the_bank_asks_to_confirm_then_pays(
    db: Database, browser: Browser
) -> None:
    shop = await live_shop(db)
    await browser.sign_up("ana@example.com", "Ana")
    await browser.submit("/cart/add", {"variant_id": shop.scarf_s})
    placed = await browser.submit("/checkout", {**ADDRESS, "idempotency_key": "k-1"})
    order_id = int(placed.headers["location"].split("/")[2])

    asked = await browser.submit(f"/orders/{order_id}/pay", {"card_number": "4000002760003184"})
    pending = await browser.get(f"/orders/{order_id}/status")
    payment_id = re.search(r'action="/payments/(\d+)/confirm"', asked.text)
    assert payment_id is not None
    confirmed = await browser.submit(f"/payments/{payment_id.group(1)}/confirm")

    assert asked.status_code == 200
    assert "Your bank needs you to confirm this payment" in asked.text
    assert 'data-testid="confirm-bank">Confirm with your bank</button>' in asked.text
    assert pending.json()["status"] == "pending_payment"
    assert confirmed.headers["location"] == f"/orders/{order_id}"
    assert (await browser.get(f"/orders/{order_id}/status")).json()["status"] == "paid"


async def test_checkout_refuses_a_sold_out_line_with_what_to_do(
    db: Database, browser: Browser
) -> None:
    shop = await live_shop(db)
    await browser.sign_up("ana@example.com", "Ana")
    await browser.submit("/cart/add", {"variant_id": shop.scarf_m})

    cart = await browser.get("/cart")
    refused = await browser.submit("/checkout", {**ADDRESS, "idempotency_key": "k-2"})

    assert "“Silk scarf” is sold out; remove it to continue" in cart.text
    assert refused.status_code == 409
    assert 'data-testid="refusal">' in refused.text


async def test_a_guest_at_checkout_is_sent_to_log_in_and_back(
    db: Database, browser: Browser
) -> None:
    await live_shop(db)

    response = await browser.get("/checkout?show=7", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/checkout%3Fshow%3D7"


async def test_a_flash_deal_tap_is_one_order_per_key_losers_hear_sold_out_and_the_winner_pays(
    db: Database, browser: Browser, other_browser: Browser
) -> None:
    shop = await live_shop(db)
    deal_id = await start_deal(db, shop, quantity=1)
    await browser.sign_up("ana@example.com", "Ana")
    await other_browser.sign_up("bo@example.com", "Bo")

    first = await post_json(browser, f"/deals/{deal_id}/buy", {"idempotency_key": "tap-1"})
    double = await post_json(browser, f"/deals/{deal_id}/buy", {"idempotency_key": "tap-1"})
    loser = await post_json(other_browser, f"/deals/{deal_id}/buy", {"idempotency_key": "tap-9"})
    pay_url = first[1]["pay_url"]
    no_card = await post_json(browser, pay_url, {**ADDRESS, "card_number": ""})
    paid = await post_json(browser, pay_url, {**ADDRESS, "card_number": "4242424242424242"})
    page = await browser.get(pay_url, follow_redirects=False)

    assert first[0] == 201
    assert first[1]["total_text"] == "27.80 EUR"  # 19.00 + 5.00 shipping + 20 % tax
    assert pay_url == f"/deals/holds/{first[1]['hold_id']}/pay"
    assert first[1]["order_id"] is None  # the order is created on the way to payment
    assert double == first
    assert page.headers["location"] == f"/orders/{paid[1]['order_id']}/pay"
    assert loser[0] == 409 and loser[1]["detail"] == "Sold out"
    assert no_card[0] == 422 and no_card[1]["errors"] == {"card_number": "Enter a card number"}
    assert paid[0] == 200
    assert (paid[1]["payment_status"], paid[1]["order_status"]) == ("succeeded", "paid")
    assert paid[1]["message"] == "Paid. Thank you!"


async def test_logging_in_adds_the_guest_cart_to_the_shoppers_own(
    db: Database, browser: Browser
) -> None:
    shop = await live_shop(db)
    await browser.sign_up("ana@example.com", "Ana")
    await browser.submit("/cart/add", {"variant_id": shop.scarf_s})
    await browser.submit("/logout")

    await browser.submit("/cart/add", {"variant_id": shop.scarf_s, "quantity": "2"})
    as_guest = (await browser.get("/cart/count")).json()
    await browser.log_in("ana@example.com")

    assert as_guest == {"count": 2}
    assert (await browser.get("/cart/count")).json() == {"count": 3}


async def test_the_studio_starts_a_deal_on_the_size_the_host_picks(
    db: Database, browser: Browser
) -> None:
    shop = await live_shop(db)
    await browser.log_in("owner@example.com")

    studio = (await browser.get(f"/studio/{shop.show_id}")).text
    by_size = await post_json(
        browser,
        f"/studio/{shop.show_id}/deals",
        {
            "variant_id": str(shop.scarf_s),
            "deal_price": "19.00",
            "quantity": "2",
            "duration_s": "60",
            "per_shopper_limit": "1",
        },
    )
    by_product = await post_json(
        browser,
        f"/studio/{shop.show_id}/deals",
        {
            "product_id": str(shop.scarf_id),
            "deal_price": "19.00",
            "quantity": "1",
            "duration_s": "60",
            "per_shopper_limit": "1",
        },
    )

    # the scarf's sizes are listed under its title, the one-size bowl on one line
    scarf = re.search(r'<optgroup label="Silk scarf">(.*?)</optgroup>', studio)
    assert scarf is not None
    assert re.findall(
        r'<option value="(\d+)" data-product="\d+">([^<]*)</option>', scarf.group(1)
    ) == [
        (str(shop.scarf_s), "S (3 in stock)"),
        (str(shop.scarf_m), "M (0 in stock)"),
    ]
    assert re.search(
        rf'<option value="\d+" data-product="{shop.bowl_id}">Walnut bowl \(5 in stock\)</option>',
        studio,
    )
    # the deal is on the size chosen; a product of several sizes asks which
    assert by_size[0] == 200 and by_size[1]["ok"] is True
    assert await stock_of(db, shop.scarf_s) == 1  # 2 of the 3 set aside for the deal
    assert by_product[0] == 422
    assert by_product[1]["errors"] == {
        "variant_id": "Choose which variant (size, colour…) the deal is for"
    }
