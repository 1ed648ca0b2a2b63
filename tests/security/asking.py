"""Every route of the app, filled with the world's ids, asked as one role; and what the answer
means for authorization: allowed, sign in first, forbidden, or not found."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import httpx
from litestar import Litestar
from litestar.routes import HTTPRoute

from tests.security.world import World

ALLOWED, LOG_IN, FORBIDDEN, NOT_FOUND = "A", "L", "F", "N"
REFUSALS = (LOG_IN, FORBIDDEN, NOT_FOUND)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as declared, e.g. /studio/{show_id:int}/pin

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")


def routes_of(app: Litestar) -> list[Route]:
    """Every method of every HTTP route the app serves (HEAD and OPTIONS answer as GET does)."""
    found = {
        Route(method, route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for method in set(route.methods) - {"HEAD", "OPTIONS"}
    }
    return sorted(found, key=lambda route: (route.path, route.method))


@dataclass(frozen=True)
class Asked:
    """How a route is asked where the world's plain ids would not do: `path` maps a parameter
    to another of the world's ids (by name) or to a literal text; `body` is the API's JSON."""

    path: Mapping[str, str] = field(default_factory=dict)
    query: str = ""
    form: Mapping[str, str] = field(default_factory=dict)
    body: Any = None


# How a route is asked where the world's plain ids would not do. Routes that end or spend
# something use a spare (show, token, photo, product) so the rest of the table keeps its world.
_SHOW = {"title": "Autumn", "starts_at": "2031-10-01T18:00", "expected_minutes": 30}
_PRODUCT = {
    "title": "Spare mug",
    "currency": "EUR",
    "status": "draft",
    "variants": [{"sku": "TWO", "price": 19900, "stock": 5}],
}
SPARE_SHOW = Asked(path={"show_id": "spare_show_id"})
ASKED: dict[str, Asked] = {
    "GET /hls/{path:path}": Asked(path={"path": "show_replay"}),
    "GET /static/{file_path:path}": Asked(path={"file_path": "css/vitrine.css"}),
    "GET /media/{file_path:path}": Asked(path={"file_path": "photo_path"}),
    "GET /api/v1/{path:str}": Asked(path={"path": "nothing-here"}),
    "GET /oembed": Asked(query="?url=http://127.0.0.1:8000/brands/northwind"),
    "GET /shows/{show_id:int}/products/{product_id:int}/visit": Asked(
        path={"product_id": "external_product_id"}
    ),
    "POST /admin/merchants/{merchant_id:int}/decision": Asked(
        path={"merchant_id": "pending_merchant_id"}
    ),
    "POST /manage/{merchant_id:int}/shows/{show_id:int}/cancel": SPARE_SHOW,
    "POST /manage/{merchant_id:int}/shows/{show_id:int}/key": SPARE_SHOW,
    "POST /studio/{show_id:int}/end": SPARE_SHOW,
    "POST /studio/{show_id:int}/messages/{message_id:int}/{action:str}": Asked(
        path={"action": "remove"}
    ),
    "POST /studio/{show_id:int}/users/{user_id:int}/{action:str}": Asked(
        path={"action": "timeout"}
    ),
    "POST /manage/{merchant_id:int}/orders/{order_id:int}/{action:str}": Asked(
        path={"action": "fulfil"}
    ),
    "POST /api/v1/merchants/{handle:str}/products": Asked(
        body={**_PRODUCT, "variants": [{"sku": "API-1", "price": 100, "stock": 1}]}
    ),
    "POST /api/v1/merchants/{handle:str}/shows": Asked(body=_SHOW),
    "PATCH /api/v1/shows/{show_id:int}": Asked(path={"show_id": "api_show_id"}, body=_SHOW),
    "POST /api/v1/shows/{show_id:int}/cancel": Asked(path={"show_id": "api_show_id"}),
    "PATCH /api/v1/products/{product_id:int}": Asked(
        path={"product_id": "spare_product_id"}, body=_PRODUCT
    ),
    "POST /api/v1/products/{product_id:int}/archive": Asked(
        path={"product_id": "spare_product_id"}
    ),
}


def fill(route: Route, ids: Mapping[str, Any], asked: Asked) -> str:
    """The route's path with each {name:type} replaced by the world's value for it."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        wanted = asked.path.get(name, name)
        return str(ids.get(wanted, wanted))

    return re.sub(r"\{(\w+):\w+\}", value, route.path) + asked.query


async def ask(
    world: World,
    role: str,
    route: Route,
    path: str,
    *,
    form: Mapping[str, Any] | None = None,
    body: Any = None,
) -> httpx.Response:
    """What a browser (or a partner's script, for the token roles) gets back. Forms carry the
    CSRF token the way a page does; the API gets JSON and the role's bearer token, if any."""
    browser = world.browsers[role]
    headers = world.headers(role)
    if route.method == "GET":
        return await browser.request("GET", path, headers=headers, follow_redirects=False)
    if route.is_api:
        return await browser.request(
            route.method, path, headers=headers, json=body, follow_redirects=False
        )
    token = browser.cookies.get("vitrine_csrf") or await _csrf_token(world, role)
    return await browser.request(
        route.method,
        path,
        headers=headers,
        data={**(form or {}), "_csrf_token": token},
        follow_redirects=False,
    )


async def _csrf_token(world: World, role: str) -> str:
    browser = world.browsers[role]
    await browser.get("/login")
    token = browser.cookies.get("vitrine_csrf")
    assert token is not None
    return token


def outcome(response: httpx.Response) -> str:
    """One letter for the table; anything unexpected (a 5xx) spells itself out."""
    status = response.status_code
    if status in (301, 302, 303, 307) and is_log_in(response):
        return LOG_IN
    if status == 401:
        return LOG_IN
    if status == 403:
        return FORBIDDEN
    if status == 404:
        return NOT_FOUND
    if status < 400 or status in (400, 409, 422):
        return ALLOWED  # answered on its merits: done, or told what to fix
    return f"{status}"


def is_log_in(response: httpx.Response) -> bool:
    return urlparse(response.headers.get("location", "")).path == "/login"


def is_clear_refusal(route: Route, response: httpx.Response) -> bool:
    """A refusal a person (or a partner's script) can act on: the log-in page, an error page
    that says what happened, or an RFC 9457 problem document for the API."""
    if is_log_in(response):
        return True
    kind = response.headers.get("content-type", "")
    if route.is_api or kind.startswith("application/problem+json"):
        problem = response.json() if kind.startswith("application/problem+json") else {}
        return problem.get("status") == response.status_code and bool(problem.get("detail"))
    return kind.startswith("text/html") and 'data-testid="error-detail"' in response.text
