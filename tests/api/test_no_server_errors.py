"""Bad input gets a clear error, never a 500: every route of the app, called by a guest and by
a signed-in shopper with missing, malformed and unknown values."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from tests.factories import make_merchant, make_show, make_user
from tests.web import Browser
from vitrine.core.db import Database

SKIP = {"/hls/{path:path}", "/static", "/media"}  # file servers
GARBAGE = {
    "email": "not-an-email",
    "password": "x",
    "title": "",
    "starts_at": "tomorrow-ish",
    "expected_minutes": "many",
    "product_id": "abc",
    "quantity": "-3",
    "deal_price": "NaN",
    "seconds": "forever",
    "minutes": "1e9",
    "text": "x" * 5000,
    "order": "1,2,zz",
    "variant_id": "",
    "idempotency_key": "",
    "card_number": "4242",
    "name": "",
    "commission": "ten",
}


def _paths(app: Litestar) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or any(route.path.startswith(s) for s in SKIP):
            continue
        for method in sorted(set(route.methods) - {"HEAD", "OPTIONS"}):
            path = re.sub(r"\{(\w+):int\}", "1", route.path)
            path = re.sub(r"\{(\w+):(str|path)\}", "nothing-here", path)
            found.append((method, path))
    return sorted(set(found))


@pytest.mark.parametrize("who", ["guest", "shopper"])
async def test_no_route_answers_malformed_requests_with_a_server_error(
    who: str, app: Litestar, browser: Browser, db: Database
) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    await make_show(db, owner, merchant)
    if who == "shopper":
        await browser.sign_up("shopper@example.com")
    failures = []
    for method, path in _paths(app):
        if path in ("/logout",):
            continue
        if method == "GET":
            response = await browser.get(path + "?page=zz&status=weird&since=yesterday")
        else:
            response = await browser.submit(path, GARBAGE)
        if response.status_code >= 500:
            failures.append(f"{method} {path} -> {response.status_code}")
    assert failures == []
