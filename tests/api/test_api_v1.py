"""Partners use the REST API with a merchant's token; errors are problem+json documents."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.factories import make_merchant, make_show, make_user
from tests.web import Browser
from vitrine.core.db import Database
from vitrine.shows import schedule

PROBLEM = "application/problem+json"


async def _token(browser: Browser, merchant_id: int) -> str:
    page = await browser.submit(f"/manage/{merchant_id}/tokens", {"name": "Storefront sync"})
    assert page.status_code == 201 or page.status_code == 200, page.text
    found = re.search(r'data-testid="new-token">(vtr_[\w-]+)<', page.text)
    assert found is not None
    return found.group(1)


async def test_a_partner_schedules_and_cancels_a_show_with_a_token(
    db: Database, browser: Browser, client: AsyncTestClient[Litestar]
) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    await browser.log_in("owner@example.com")
    token = await _token(browser, merchant.id)
    auth = {"authorization": f"Bearer {token}"}

    created = await client.post(
        "/api/v1/merchants/acme/shows",
        json={"title": "API show", "starts_at": "2099-03-01T18:00:00Z", "expected_minutes": 20},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    show = created.json()
    assert show["title"] == "API show"
    assert show["scheduled_start"] == "2099-03-01T18:00:00Z"
    assert show["status"] == "scheduled"
    assert "stream_key" not in show

    listed = await client.get("/api/v1/merchants/acme/shows")
    assert [item["id"] for item in listed.json()] == [show["id"]]

    cancelled = await client.post(f"/api/v1/shows/{show['id']}/cancel", headers=auth)
    assert cancelled.status_code == 201
    assert cancelled.json()["status"] == "cancelled"


async def test_another_brands_token_cannot_schedule_for_us(
    db: Database, browser: Browser, client: AsyncTestClient[Litestar]
) -> None:
    owner = await make_user(db, "owner@example.com")
    await make_merchant(db, owner, "acme")
    rival = await make_user(db, "rival@example.com")
    rival_brand = await make_merchant(db, rival, "rival")
    await browser.log_in("rival@example.com")
    token = await _token(browser, rival_brand.id)

    response = await client.post(
        "/api/v1/merchants/acme/shows",
        json={"title": "Hijack", "starts_at": "2099-03-01T18:00:00Z", "expected_minutes": 20},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["detail"] == "Only this brand's owner and staff can do this"


async def test_bad_requests_get_problem_documents_naming_the_field(
    db: Database, client: AsyncTestClient[Litestar], browser: Browser
) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    await browser.log_in("owner@example.com")
    auth = {"authorization": f"Bearer {await _token(browser, merchant.id)}"}

    past = await client.post(
        "/api/v1/merchants/acme/shows",
        json={"title": "Late", "starts_at": "2001-01-01T10:00", "expected_minutes": 20},
        headers=auth,
    )
    assert past.status_code == 422
    assert past.json()["errors"] == {
        "starts_at": "This time has passed; choose a time after now (Europe/Paris time)"
    }

    malformed = await client.post(
        "/api/v1/merchants/acme/shows",
        content=b"{not json",
        headers={**auth, "content-type": "application/json"},
    )
    assert malformed.status_code == 400
    assert malformed.headers["content-type"].startswith(PROBLEM)

    wrong_type = await client.post(
        "/api/v1/merchants/acme/shows",
        json={"title": "X", "starts_at": "2099-01-01T10:00", "expected_minutes": "soon"},
        headers=auth,
    )
    assert wrong_type.status_code == 400
    assert "expected_minutes" in wrong_type.text

    bad_token = await client.post(
        "/api/v1/merchants/acme/shows",
        json={"title": "X", "starts_at": "2099-01-01T10:00", "expected_minutes": 5},
        headers={"authorization": "Bearer vtr_forged"},
    )
    assert bad_token.status_code == 401
    assert bad_token.json()["detail"] == (
        "This API token is unknown or was revoked; create a new one in Settings"
    )

    missing = await client.get("/api/v1/shows/424242")
    assert missing.status_code == 404
    assert missing.json() == {
        "type": "about:blank",
        "title": "Not found",
        "status": 404,
        "detail": "No show #424242",
    }


async def test_a_revoked_token_stops_working(
    db: Database, browser: Browser, client: AsyncTestClient[Litestar]
) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    show = await make_show(db, owner, merchant)
    await browser.log_in("owner@example.com")
    token = await _token(browser, merchant.id)
    team = await browser.get(f"/manage/{merchant.id}/team")
    token_id = re.search(r"/tokens/(\d+)/revoke", team.text).group(1)  # type: ignore[union-attr]
    await browser.submit(f"/manage/{merchant.id}/tokens/{token_id}/revoke")

    response = await client.post(
        f"/api/v1/shows/{show.id}/cancel", headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401


async def test_the_openapi_document_describes_the_api(client: AsyncTestClient[Litestar]) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    assert document["info"]["title"] == "Vitrine API"
    assert "/api/v1/merchants/{handle}/shows" in document["paths"]
    assert not any(path.startswith("/manage") for path in document["paths"])


async def test_a_partner_manages_products_and_errors_name_the_variant_field(
    db: Database, browser: Browser, client: AsyncTestClient[Litestar]
) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    await browser.log_in("owner@example.com")
    auth = {"authorization": f"Bearer {await _token(browser, merchant.id)}"}
    draft = {
        "title": "Linen shirt",
        "currency": "EUR",
        "status": "active",
        "variants": [
            {"sku": "LS-S", "price": 4900, "stock": 5, "options": {"size": "S"}},
            {"sku": "LS-M", "price": 4900, "stock": 3, "options": {"size": "M"}},
        ],
    }
    created = await client.post("/api/v1/merchants/acme/products", json=draft, headers=auth)
    assert created.status_code == 201, created.text
    product = created.json()
    assert [(v["sku"], v["stock"]) for v in product["variants"]] == [("LS-S", 5), ("LS-M", 3)]

    public = await client.get("/api/v1/merchants/acme/products")
    assert [(p["title"], p["price_from"], p["in_stock"]) for p in public.json()] == [
        ("Linen shirt", 4900, 8)
    ]

    duplicate = await client.post(
        "/api/v1/merchants/acme/products",
        json={**draft, "title": "Other", "variants": [{"sku": "LS-S", "price": 100}]},
        headers=auth,
    )
    assert duplicate.status_code == 422
    assert list(duplicate.json()["errors"]) == ["variants[0].sku"]

    negative = await client.patch(
        f"/api/v1/products/{product['id']}",
        json={**draft, "variants": [{"sku": "LS-S", "price": -1}]},
        headers=auth,
    )
    assert negative.status_code == 422
    assert list(negative.json()["errors"]) == ["variants[0].price"]

    archived = await client.post(f"/api/v1/products/{product['id']}/archive", headers=auth)
    assert archived.json()["status"] == "archived"
    assert (await client.get("/api/v1/merchants/acme/products")).json() == []
    assert (await client.get(f"/api/v1/products/{product['id']}")).status_code == 401


async def test_a_method_a_path_does_not_take_is_refused_naming_the_ones_it_does(
    client: AsyncTestClient[Litestar],
) -> None:
    refused = await client.delete("/api/v1/merchants")

    assert refused.status_code == 405
    assert refused.headers["content-type"] == PROBLEM
    assert set(refused.headers["allow"].split(", ")) == {"GET", "OPTIONS"}
    assert refused.json()["title"] == "Method not allowed"

    page = await client.put("/login")
    assert page.status_code == 405
    assert "text/html" in page.headers["content-type"]
    assert set(page.headers["allow"].split(", ")) == {"GET", "OPTIONS", "POST"}


async def test_a_partners_patch_changes_what_it_names_and_keeps_the_lineup_and_hosts(
    db: Database, browser: Browser, client: AsyncTestClient[Litestar]
) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    await browser.log_in("owner@example.com")
    auth = {"authorization": f"Bearer {await _token(browser, merchant.id)}"}
    product = await client.post(
        "/api/v1/merchants/acme/products",
        json={
            "title": "Hat",
            "currency": "EUR",
            "status": "active",
            "variants": [{"sku": "HAT-1", "price": 1500, "stock": 3}],
        },
        headers=auth,
    )
    assert product.status_code == 201, product.text
    created = await client.post(
        "/api/v1/merchants/acme/shows",
        json={
            "title": "Hats live",
            "starts_at": "2099-03-01T18:00:00Z",
            "expected_minutes": 20,
            "description": "All the hats",
            "product_ids": [product.json()["id"]],
            "host_emails": ["owner@example.com"],
        },
        headers=auth,
    )
    assert created.status_code == 201, created.text
    show_id = created.json()["id"]

    moved = await client.patch(
        f"/api/v1/shows/{show_id}",
        json={"title": "Hats, live", "starts_at": "2099-03-02T18:00:00Z", "expected_minutes": 30},
        headers=auth,
    )

    assert moved.status_code == 200, moved.text
    assert (moved.json()["title"], moved.json()["description"]) == ("Hats, live", "All the hats")
    async with db.read() as session:
        assert await schedule.lineup_product_ids(session, show_id) == [product.json()["id"]]
        assert await schedule.host_emails(session, show_id) == ["owner@example.com"]

    emptied = await client.patch(
        f"/api/v1/shows/{show_id}",
        json={
            "title": "Hats, live",
            "starts_at": "2099-03-02T18:00:00Z",
            "expected_minutes": 30,
            "product_ids": [],
        },
        headers=auth,
    )
    assert emptied.status_code == 200, emptied.text
    async with db.read() as session:
        assert await schedule.lineup_product_ids(session, show_id) == []
        assert await schedule.host_emails(session, show_id) == ["owner@example.com"]
