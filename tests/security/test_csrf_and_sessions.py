"""Forge nothing, fix nothing: every form needs its CSRF token, the API ignores cookies, and a
session token is fresh at each log-in, dead at log-out, and never stored as such."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from tests.factories import PASSWORD, make_user
from tests.security.asking import ASKED, Asked, Route, fill, routes_of
from tests.security.world import World
from tests.web import CSRF_COOKIE, Browser
from vitrine.accounts.models import UserSession
from vitrine.accounts.tokens import digest
from vitrine.app import create_app
from vitrine.config import Settings
from vitrine.core.db import Database

SESSION = "vitrine_session"
EXPIRED = "This form has expired; reload the page and try again"
# Machines that prove themselves otherwise: the payment gateway signs its webhook, nginx-rtmp
# sends the stream key; the API takes a bearer token and no cookie.
EXEMPT = {
    "POST /payments/webhook",
    "POST /media/nginx/on_publish",
    "POST /media/nginx/on_publish_done",
}


def state_changing(app: Litestar) -> list[Route]:
    return [route for route in routes_of(app) if route.method != "GET" and not route.is_api]


async def post_as_owner(
    world: World, route: Route, *, token: str | None, header: str | None = None
) -> int:
    owner = world.browsers["owner"]
    asked = ASKED.get(route.key, Asked())
    data = dict(asked.form)
    if token is not None:
        data["_csrf_token"] = token
    response = await owner.request(
        route.method,
        fill(route, world.ids, asked),
        data=data,
        headers={"x-csrf-token": header} if header else {},
        follow_redirects=False,
    )
    if response.status_code == 403:
        assert EXPIRED in response.text, (route.key, response.text)
    return response.status_code


async def test_every_form_refuses_a_missing_or_forged_csrf_token(
    world: World, shared_app: Litestar
) -> None:
    """The owner may do everything here, so only the token can make the difference."""
    someone_elses = world.browsers["shopper"].cookies[CSRF_COOKIE]
    let_through = {}
    for route in state_changing(shared_app):
        if route.key in EXEMPT:
            continue
        answers = (
            await post_as_owner(world, route, token=None),
            await post_as_owner(world, route, token=someone_elses),
            await post_as_owner(world, route, token="forged-" + "x" * 40),
            await post_as_owner(world, route, token=None, header=someone_elses),
        )
        if answers != (403, 403, 403, 403):
            let_through[route.key] = answers

    assert len(state_changing(shared_app)) > 40
    assert let_through == {}


async def test_only_the_machine_callbacks_take_a_post_without_a_token(
    world: World, shared_app: Litestar
) -> None:
    tokenless = {
        route.key
        for route in state_changing(shared_app)
        if await post_as_owner(world, route, token=None) != 403
    }

    assert tokenless == EXEMPT


async def test_a_signed_in_browser_cannot_drive_the_api_with_its_cookies(world: World) -> None:
    """Even with the session cookie and a valid CSRF header: the API knows only tokens."""
    owner = world.browsers["owner"]
    headers = {"x-csrf-token": owner.cookies[CSRF_COOKIE]}
    archive = await owner.request(
        "POST", f"/api/v1/products/{world.ids['spare_product_id']}/archive", headers=headers
    )
    schedule = await owner.request(
        "POST",
        "/api/v1/merchants/northwind/shows",
        headers=headers,
        json={"title": "Forged", "starts_at": "2031-01-01T10:00", "expected_minutes": 30},
    )

    assert (archive.status_code, schedule.status_code) == (401, 401)
    assert archive.headers["content-type"] == "application/problem+json"
    assert "Authorization: Bearer" in archive.json()["detail"]


async def test_each_log_in_opens_a_new_session_and_ends_the_one_before(world: World) -> None:
    browser = Browser(world.browsers["guest"].client)
    await browser.log_in(world.emails["staff"])
    first = browser.cookies[SESSION]
    await browser.log_in(world.emails["staff"])
    second = browser.cookies[SESSION]
    replayed = Browser(browser.client)
    replayed.cookies.set(SESSION, first, domain="testserver.local", path="/")

    answer = await replayed.get("/orders", follow_redirects=False)

    assert first != second
    assert answer.status_code == 302
    assert answer.headers["location"] == "/login?next=/orders"


async def test_signing_up_replaces_a_planted_session_cookie(world: World) -> None:
    browser = Browser(world.browsers["guest"].client)
    browser.cookies.set(SESSION, "planted-by-an-attacker", domain="testserver.local", path="/")

    await browser.sign_up("newcomer@example.com", "Newcomer")

    assert browser.cookies[SESSION] not in ("", "planted-by-an-attacker")
    assert (await browser.get("/notifications")).status_code == 200


async def test_logging_out_ends_the_session_on_the_server_too(world: World) -> None:
    """A copy of the cookie (a shared computer, a stolen backup) is worth nothing afterwards."""
    browser = Browser(world.browsers["guest"].client)
    await browser.log_in(world.emails["host"])
    copied = browser.cookies[SESSION]
    await browser.submit("/logout")
    thief = Browser(browser.client)
    thief.cookies.set(SESSION, copied, domain="testserver.local", path="/")

    studio = await thief.get(f"/studio/{world.ids['show_id']}", follow_redirects=False)

    assert studio.headers["location"] == f"/login?next=/studio/{world.ids['show_id']}"


async def test_only_a_digest_of_the_session_token_is_stored(world: World) -> None:
    token = world.browsers["owner"].cookies[SESSION]
    async with world.db.read() as session:
        stored = set((await session.scalars(select(UserSession.token_hash))).all())

    assert digest(token) in stored
    assert token not in stored


@pytest.fixture
async def https_client(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """An instance whose public URL is https (behind nginx's TLS)."""
    app = create_app(settings.with_changes(public_url="https://shop.example"))
    async with AsyncTestClient(app, base_url="https://testserver.local") as client:
        yield client


async def test_cookies_are_http_only_same_site_and_secure_behind_https(
    https_client: AsyncTestClient[Litestar], db: Database
) -> None:
    await make_user(db, "secure@example.com")
    form = await https_client.get("/login")
    csrf = form.cookies[CSRF_COOKIE]
    logged_in = await https_client.post(
        "/login",
        data={"email": "secure@example.com", "password": "a-long-password", "_csrf_token": csrf},
        follow_redirects=False,
    )
    session_cookie = next(
        value
        for value in logged_in.headers.get_list("set-cookie")
        if value.startswith(f"{SESSION}=")
    ).lower()
    csrf_cookie = next(
        value for value in form.headers.get_list("set-cookie") if value.startswith(CSRF_COOKIE)
    ).lower()

    assert logged_in.status_code == 303
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= _flags(session_cookie)
    assert {"secure", "samesite=lax"} <= _flags(csrf_cookie)
    assert "httponly" not in _flags(csrf_cookie)  # the page's scripts send it as a header


def _flags(set_cookie: str) -> set[str]:
    return {part.strip() for part in set_cookie.split(";")[1:]}


@pytest.mark.parametrize(
    "crafted",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "/\t/evil.example/", "x"],
)
async def test_a_crafted_next_link_cannot_send_someone_to_another_site(
    world: World, crafted: str
) -> None:
    """Browsers read `/\\host` as `//host` and drop tabs: after log-in, only local paths."""
    browser = Browser(world.browsers["guest"].client)
    honest = Browser(browser.client)

    sent = await browser.submit(
        "/login", {"email": world.emails["shopper"], "password": PASSWORD, "next": crafted}
    )
    kept = await honest.submit(
        "/login", {"email": world.emails["shopper"], "password": PASSWORD, "next": "/orders"}
    )

    assert (sent.status_code, sent.headers["location"]) == (303, "/")
    assert kept.headers["location"] == "/orders"
