"""Issue 2's walk in Chromium: a merchant applies, the operator approves, the merchant imports
a CSV catalog and schedules a show, and shoppers find it on the home page and the brand page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import DESKTOP, LiveServer
from tests.browser.live_helpers import log_in, new_phone, sign_up

CATALOG = """product_handle,sku,title,status,currency,price,compare_at_price,stock,option1_name,option1_value
linen-shirt,LS-S,Linen shirt,active,EUR,49.00,65.00,5,Size,S
linen-shirt,LS-M,Linen shirt,active,EUR,49.00,65.00,8,Size,M
straw-hat,SH-1,Straw hat,active,EUR,29.50,,12,,
"""


async def test_apply_approve_import_schedule_and_find_the_show(
    live_server: LiveServer, chromium: Any, tmp_path: Path
) -> None:
    live_server.vitrine("create-admin", "ops@example.com", "--password", "operator-password")
    merchant = await new_phone(chromium)
    await sign_up(merchant, live_server, "maker@example.com", "Maker")

    await merchant.goto(f"{live_server.url}/apply")
    await merchant.fill("#f-brand_name", "Sunday Linen")
    await merchant.fill("#f-handle", "sunday-linen")
    await merchant.fill("#f-contact_email", "hello@sunday.example")
    await merchant.fill("#f-time_zone", "Europe/Paris")
    await merchant.click("form[action='/apply'] button[type=submit]")
    await merchant.get_by_test_id("application-status").wait_for()
    assert "being reviewed" in await merchant.get_by_test_id("application-status").text_content()

    operator = await (await chromium.new_context(**DESKTOP)).new_page()
    await log_in(operator, live_server, "ops@example.com", "operator-password")
    await operator.goto(f"{live_server.url}/admin")
    application = operator.locator("[data-merchant=sunday-linen]")
    await application.get_by_role("button", name="Approve").click()
    await operator.locator("#merchants [data-merchant=sunday-linen]").wait_for()

    await merchant.reload()
    assert "Approved" in await merchant.get_by_test_id("application-status").text_content()
    merchant_url = merchant.url
    await merchant.goto(f"{merchant_url}/catalog/import")
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text(CATALOG)
    await merchant.set_input_files("#f-file", str(csv_file))
    await merchant.click("form[enctype='multipart/form-data'] button[type=submit]")
    await merchant.get_by_test_id("import-succeeded").wait_for()
    assert "3" in await merchant.get_by_test_id("import-succeeded").text_content()

    await merchant.goto(f"{merchant_url}/shows/new")
    await merchant.fill("#f-title", "Summer linen live")
    await merchant.fill("#f-starts_at", "2099-07-01T19:00")
    await merchant.fill("#f-expected_minutes", "30")
    await merchant.get_by_label("Linen shirt").check()
    await merchant.get_by_label("Straw hat").check()
    await merchant.click("form[enctype='multipart/form-data'] button[type=submit]")
    await merchant.get_by_test_id("lineup").wait_for()
    assert await merchant.get_by_test_id("lineup").locator("li").all_text_contents() == [
        "Linen shirt 49.00 EUR",
        "Straw hat 29.50 EUR",
    ]

    shopper = await new_phone(chromium)
    await shopper.goto(live_server.url)
    card = shopper.get_by_test_id("upcoming").locator(".show-card", has_text="Summer linen live")
    await card.wait_for()
    await shopper.goto(f"{live_server.url}/brands/sunday-linen")
    assert await shopper.get_by_test_id("brand-upcoming").locator(".show-card").count() == 1
    assert sorted(await shopper.get_by_test_id("shop").locator(".title").all_text_contents()) == [
        "Linen shirt",
        "Straw hat",
    ]
