"""Orders after payment: the merchant's list, filters and CSV, shipping, delivery, refund with
restock, the ledger entries, the payout report and the operator's platform totals."""

from __future__ import annotations

from tests.api.shop_helpers import ADDRESS, LiveShop, live_shop, stock_of
from tests.web import Browser
from vitrine.core.db import Database


async def paid_order(browser: Browser, shop: LiveShop, *, quantity: int = 2) -> int:
    """Ana buys `quantity` scarves (S) from the cart and pays with the test card."""
    await browser.sign_up("ana@example.com", "Ana")
    await browser.submit(
        "/cart/add",
        {"variant_id": shop.scarf_s, "quantity": str(quantity), "show_id": shop.show_id},
    )
    placed = await browser.submit("/checkout", {**ADDRESS, "idempotency_key": "key-1"})
    order_id = int(placed.headers["location"].split("/")[2])
    paid = await browser.submit(f"/orders/{order_id}/pay", {"card_number": "4242424242424242"})
    assert paid.status_code == 303, paid.text
    return order_id


async def test_the_merchant_filters_the_list_and_exports_it_as_csv(
    db: Database, browser: Browser, other_browser: Browser
) -> None:
    shop = await live_shop(db)
    order_id = await paid_order(browser, shop)
    await other_browser.log_in("owner@example.com")
    base = f"/manage/{shop.merchant_id}/orders"

    everything = await other_browser.get(base)
    paid = await other_browser.get(f"{base}?status=paid&show={shop.show_id}")
    cancelled = await other_browser.get(f"{base}?status=cancelled")
    wrong_date = await other_browser.get(f"{base}?since=yesterday")
    csv = await other_browser.get(f"{base}.csv?status=paid")

    assert f'<tr data-order-id="{order_id}" data-status="paid">' in everything.text
    assert f'<tr data-order-id="{order_id}" data-status="paid">' in paid.text
    assert 'data-testid="no-orders">No order matches.' in cancelled.text
    assert wrong_date.status_code == 422
    assert "Use a date such as 2026-11-26" in wrong_date.text
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert f'filename="orders-{shop.merchant_id}.csv"' in csv.headers["content-disposition"]
    rows = csv.text.strip().splitlines()
    assert len(rows) == 2  # header + one line of the one order
    assert rows[1].startswith(f"{order_id},")


async def test_a_shopper_cannot_see_the_merchants_orders(db: Database, browser: Browser) -> None:
    shop = await live_shop(db)
    await paid_order(browser, shop)

    refused = await browser.get(f"/manage/{shop.merchant_id}/orders")
    payouts = await browser.get(f"/manage/{shop.merchant_id}/payouts")
    totals = await browser.get("/admin/totals")

    assert (refused.status_code, payouts.status_code, totals.status_code) == (403, 403, 403)


async def test_the_merchant_ships_delivers_and_refunds_with_restock(
    db: Database, browser: Browser, other_browser: Browser
) -> None:
    shop = await live_shop(db)
    order_id = await paid_order(browser, shop)
    await other_browser.log_in("owner@example.com")
    page = f"/manage/{shop.merchant_id}/orders/{order_id}"

    seen = await other_browser.get(page)
    no_tracking = await other_browser.submit(f"{page}/fulfil", {"tracking_number": " "})
    shipped = await other_browser.submit(f"{page}/fulfil", {"tracking_number": "LP123456FR"})
    delivered = await other_browser.submit(f"{page}/delivered")
    stock_before = await stock_of(db, shop.scarf_s)
    refunded = await other_browser.submit(f"{page}/refund", {"restock": "1", "restock_sent": "1"})
    after = await other_browser.get(page)
    shopper_view = await browser.get(f"/orders/{order_id}")

    assert '<tr data-kind="gross"><td>Gross</td><td>101.00 EUR</td>' in seen.text
    assert '<tr data-kind="commission"><td>Commission</td><td>10.10 EUR</td>' in seen.text
    assert '<tr data-kind="payable"><td>Payable</td><td>90.90 EUR</td>' in seen.text
    assert no_tracking.status_code == 422
    assert 'data-testid="refusal">Enter the carrier&#39;s tracking number</div>' in no_tracking.text
    assert shipped.status_code == delivered.status_code == refunded.status_code == 303
    assert (stock_before, await stock_of(db, shop.scarf_s)) == (1, 3)
    assert 'data-testid="order-status">Refunded</span>' in after.text
    assert after.text.count('<tr data-kind="gross">') == 2
    assert "<td>-101.00 EUR</td>" in after.text
    for kind in ("placed", "paid", "fulfilled", "delivered", "refunded"):
        assert f'<li data-kind="{kind}">' in after.text
    assert 'data-testid="order-status" data-status-label>Refunded</span>' in shopper_view.text
    assert "LP123456FR" in shopper_view.text


async def test_the_payout_report_and_the_platform_totals_sum_the_ledger(
    db: Database, browser: Browser, other_browser: Browser
) -> None:
    shop = await live_shop(db)
    await paid_order(browser, shop)
    await other_browser.log_in("owner@example.com")
    operator = Browser(browser.client)
    await operator.log_in("operator-northwind@example.com")

    report = await other_browser.get(f"/manage/{shop.merchant_id}/payouts")
    backwards = await other_browser.get(
        f"/manage/{shop.merchant_id}/payouts?start=2026-11-20&end=2026-11-01"
    )
    totals = await operator.get("/admin/totals")
    admin = await operator.get("/admin")

    assert '<td data-testid="gross">101.00 EUR</td>' in report.text
    assert '<td data-testid="commission">10.10 EUR</td>' in report.text
    assert '<td data-testid="payable"><strong>90.90 EUR</strong></td>' in report.text
    assert report.text.count('<rect class="gross"') == 30  # one day a bar, the last 30 days
    assert backwards.status_code == 422
    assert "The period must end after it starts" in backwards.text
    assert '<p data-testid="merchant-count">1 merchant sold in this period.</p>' in totals.text
    assert "<td><strong>10.10 EUR</strong></td>" in totals.text
    assert 'href="/admin/totals"' in admin.text


async def test_a_shopper_cancels_an_unpaid_order_and_the_stock_comes_back(
    db: Database, browser: Browser
) -> None:
    shop = await live_shop(db)
    await browser.sign_up("ana@example.com", "Ana")
    await browser.submit("/cart/add", {"variant_id": shop.scarf_s, "quantity": "3"})
    placed = await browser.submit("/checkout", {**ADDRESS, "idempotency_key": "key-2"})
    order_id = int(placed.headers["location"].split("/")[2])
    held = await stock_of(db, shop.scarf_s)

    cancelled = await browser.submit(f"/orders/{order_id}/cancel")
    page = await browser.get(f"/orders/{order_id}")
    pay_again = await browser.get(f"/orders/{order_id}/pay", follow_redirects=False)

    assert (held, await stock_of(db, shop.scarf_s)) == (0, 3)
    assert cancelled.status_code == 303
    assert 'data-testid="order-status" data-status-label>Cancelled</span>' in page.text
    assert pay_again.headers["location"] == f"/orders/{order_id}"
