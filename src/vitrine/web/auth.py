"""Who is asking, for pages (session cookie) and for the API (bearer token)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from vitrine.accounts.actor import GUEST, Actor
from vitrine.accounts.api_tokens import actor_for_api_token
from vitrine.accounts.users import actor_for_session
from vitrine.core.errors import NotSignedIn
from vitrine.web.services import services_of

SESSION_COOKIE = "vitrine_session"


async def page_actor(request: Request[Any, Any, Any]) -> Actor:
    cached = request.state.get("actor")
    if isinstance(cached, Actor):
        return cached
    actor = await actor_for_session(services_of(request).db, request.cookies.get(SESSION_COOKIE))
    request.state["actor"] = actor
    return actor


async def buyer_actor(request: Request[Any, Any, Any]) -> Actor:
    """`page_actor` for the routes a flash deal's burst hits: the session is looked up once
    per shopper every few seconds (`SessionCache`), not once per tap."""
    cached = request.state.get("actor")
    if isinstance(cached, Actor):
        return cached
    actor = await services_of(request).sessions.actor(request.cookies.get(SESSION_COOKIE))
    request.state["actor"] = actor
    return actor


async def api_actor(request: Request[Any, Any, Any]) -> Actor:
    """Partners authenticate with `Authorization: Bearer <token>`; no token means a guest.
    The API never accepts the session cookie, so it needs no CSRF token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        return GUEST
    return await actor_for_api_token(services_of(request).db, scheme, token.strip())


def api_token_required(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of the API's token routes, run before the body is read: without a token the answer
    is 401, whatever the body or the cookies say (a browser's cookie never drives the API)."""
    if not connection.headers.get("authorization"):
        raise NotSignedIn("Send a merchant's API token: Authorization: Bearer vtr_…")


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"
