"""A merchant applies, the operator approves, the merchant schedules a show; shoppers find it."""

from __future__ import annotations

import re

from tests.factories import make_merchant, make_user
from tests.web import Browser
from vitrine.accounts import merchants
from vitrine.core.db import Database


async def test_a_brand_applies_is_approved_schedules_a_show_and_shoppers_find_it(
    browser: Browser, other_browser: Browser, db: Database
) -> None:
    await make_user(db, "ops@example.com", operator=True)
    await browser.sign_up("maker@example.com", "Maker")

    applied = await browser.submit(
        "/apply",
        {
            "brand_name": "Acme Tees",
            "handle": "acme",
            "description": "Organic tees",
            "website": "https://acme.example",
            "contact_email": "shop@acme.example",
            "currency": "eur",
            "time_zone": "Europe/Paris",
        },
    )
    assert applied.status_code == 303
    dashboard = await browser.get(applied.headers["location"])
    assert "Your application is being reviewed" in dashboard.text
    refused = await browser.get(applied.headers["location"] + "/shows/new")
    assert refused.status_code == 403
    assert "not approved yet" in refused.text

    await other_browser.log_in("ops@example.com")
    admin = await other_browser.get("/admin")
    merchant_id = re.search(r"/admin/merchants/(\d+)/decision", admin.text).group(1)  # type: ignore[union-attr]
    decided = await other_browser.submit(
        f"/admin/merchants/{merchant_id}/decision", {"decision": "approve", "reason": ""}
    )
    assert decided.status_code == 303

    scheduled = await browser.submit(
        f"/manage/{merchant_id}/shows/new",
        {
            "title": "Tee drop",
            "description": "",
            "starts_at": "2099-06-01T19:00",
            "expected_minutes": "45",
        },
    )
    assert scheduled.status_code == 303
    home = await other_browser.get("/")
    assert "Tee drop" in home.text
    brand = await other_browser.get("/brands/acme")
    assert "Tee drop" in brand.text
    show_page = await other_browser.get(
        scheduled.headers["location"].replace(f"/manage/{merchant_id}", "")
    )
    assert show_page.status_code == 200
    assert 'data-countdown="2099-06-01T17:00:00Z"' in show_page.text  # 19:00 in Paris is 17:00 UTC


async def test_a_rejection_needs_a_reason_and_the_applicant_sees_it(
    browser: Browser, other_browser: Browser, db: Database
) -> None:
    await make_user(db, "ops@example.com", operator=True)
    await browser.sign_up("maker@example.com")
    applied = await browser.submit(
        "/apply",
        {
            "brand_name": "Shady",
            "handle": "shady",
            "contact_email": "s@shady.example",
            "currency": "EUR",
            "time_zone": "UTC",
        },
    )
    merchant_path = applied.headers["location"]
    merchant_id = merchant_path.rsplit("/", 1)[1]
    await other_browser.log_in("ops@example.com")

    no_reason = await other_browser.submit(
        f"/admin/merchants/{merchant_id}/decision", {"decision": "reject", "reason": " "}
    )
    assert no_reason.status_code == 422
    assert "Tell the applicant why" in no_reason.text

    await other_browser.submit(
        f"/admin/merchants/{merchant_id}/decision",
        {"decision": "reject", "reason": "No website content yet"},
    )
    status = await browser.get(merchant_path)
    assert "Your application was not approved: No website content yet" in status.text
    hidden = await other_browser.get("/brands/shady")
    assert hidden.status_code == 404


async def test_the_application_form_names_every_field_to_fix(browser: Browser) -> None:
    await browser.sign_up("maker@example.com")
    response = await browser.submit(
        "/apply",
        {
            "brand_name": "",
            "handle": "-bad-",
            "website": "acme.example",
            "contact_email": "nope",
            "currency": "EURO",
            "time_zone": "Mars/Olympus",
        },
    )
    assert response.status_code == 422
    errors = dict(re.findall(r'data-error-for="(\w+)">([^<]+)<', response.text))
    assert errors == {
        "brand_name": "Enter your brand&#39;s name (at most 80 characters)",
        "handle": "Use 3 to 30 lower-case letters, digits or dashes, not starting or ending with a dash",
        "website": "Enter the full address, starting with https://",
        "contact_email": "Enter an e-mail address where we can reach you",
        "currency": "&#39;EURO&#39; is not an ISO 4217 currency code; use one such as EUR, USD or GBP",
        "time_zone": "&#39;Mars/Olympus&#39; is not a time zone; use one like Europe/Paris",
    }


async def test_a_form_posted_without_the_csrf_token_is_refused(browser: Browser) -> None:
    await browser.get("/login")
    response = await browser.client.post(
        "/login", data={"email": "a@example.com", "password": "x"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert "This form has expired; reload the page and try again" in response.text


async def test_a_shopper_follows_and_unfollows_a_brand(browser: Browser, db: Database) -> None:
    owner = await make_user(db, "owner@example.com")
    await make_merchant(db, owner, "acme")
    guest_view = await browser.get("/brands/acme")
    assert 'data-testid="follower-count">0<' in guest_view.text
    assert "/login?next=/brands/acme" in guest_view.text

    await browser.sign_up("fan@example.com")
    await browser.submit("/brands/acme/follow", {"on": "1"})
    await browser.submit("/brands/acme/follow", {"on": "1"})  # twice is still one follow
    followed = await browser.get("/brands/acme")
    assert 'data-testid="follower-count">1<' in followed.text
    assert ">Following<" in followed.text

    await browser.submit("/brands/acme/follow", {"on": "0"})
    assert 'data-testid="follower-count">0<' in (await browser.get("/brands/acme")).text


def _png(width: int = 64, height: int = 64) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 90)).save(out, "PNG")
    return out.getvalue()


APPLICATION = {
    "brand_name": "Acme",
    "handle": "acme",
    "contact_email": "a@acme.example",
    "currency": "EUR",
    "time_zone": "UTC",
}


async def test_an_application_carries_the_brand_logo(browser: Browser, db: Database) -> None:
    await browser.sign_up("maker@example.com")
    response = await browser.submit(
        "/apply", APPLICATION, files={"logo": ("logo.png", _png(), "image/png")}
    )
    assert response.status_code == 303
    merchant = await merchants.merchant_by_handle(db, "acme")
    assert merchant.logo_path is not None
    assert merchant.logo_path.startswith("merchants/") and merchant.logo_path.endswith("-thumb.png")
    logo = await browser.get(f"/media/{merchant.logo_path}")
    assert logo.status_code == 200
    assert logo.headers["content-type"] == "image/png"


async def test_a_logo_that_is_not_an_image_is_refused_and_nothing_is_written(
    browser: Browser, db: Database
) -> None:
    await browser.sign_up("maker@example.com")
    response = await browser.submit(
        "/apply", APPLICATION, files={"logo": ("logo.jpg", b"GIF89a not really", "image/jpeg")}
    )
    assert response.status_code == 422
    assert 'data-error-for="logo">this file is not a JPEG, PNG or WebP image<' in response.text
    assert await merchants.list_merchants(db) == []


async def test_a_show_gets_a_cover_picture(browser: Browser, db: Database) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    await browser.log_in("owner@example.com")
    response = await browser.submit(
        f"/manage/{merchant.id}/shows/new",
        {"title": "Covered", "starts_at": "2099-01-01T10:00", "expected_minutes": "30"},
        files={"cover": ("cover.png", _png(1600, 900), "image/png")},
    )
    assert response.status_code == 303
    home = await browser.get("/")
    cover = re.search(r'<img src="/media/(shows/\d+/\w+\.png)"', home.text)
    assert cover is not None
    assert (await browser.get(f"/media/{cover.group(1)}")).status_code == 200


async def test_failed_log_ins_are_limited_per_email_and_say_when_to_retry(
    browser: Browser, db: Database
) -> None:
    await make_user(db, "target@example.com")
    for _ in range(10):
        wrong = await browser.submit("/login", {"email": "target@example.com", "password": "guess"})
        assert wrong.status_code == 422
    blocked = await browser.submit(
        "/login", {"email": "target@example.com", "password": "a-long-password"}
    )
    assert blocked.status_code == 429
    assert "Too many failed log-ins; wait a minute and try again" in blocked.text


async def test_logging_in_replaces_a_planted_session_cookie(browser: Browser, db: Database) -> None:
    await make_user(db, "victim@example.com")
    browser.cookies.set(
        "vitrine_session", "planted-by-an-attacker", domain="testserver.local", path="/"
    )
    response = await browser.log_in("victim@example.com")
    assert response.status_code == 303
    assert browser.cookies.get("vitrine_session") not in (None, "planted-by-an-attacker")
