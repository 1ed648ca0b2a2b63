"""What the buying pages share: the client's platform, the guest cart's cookie, answers that
are JSON for the live page's scripts and redirects for plain forms."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie

from vitrine.accounts.users import actor_for_session
from vitrine.web.errors import wants_json
from vitrine.web.services import services_of

CART_COOKIE = "vitrine_cart"
PLATFORM_COOKIE = "vitrine_platform"
PLATFORMS = ("ios", "android", "desktop")


def platform_of(request: Request[Any, Any, Any]) -> str:
    """ "ios", "android" or "desktop", from `?platform=` or the `vitrine_platform` cookie when
    given (tests, the apps' web views), otherwise from the User-Agent."""
    chosen = (
        request.query_params.get("platform") or request.cookies.get(PLATFORM_COOKIE) or ""
    ).strip()
    if chosen.lower() in PLATFORMS:
        return chosen.lower()
    agent = request.headers.get("user-agent", "")
    if "Android" in agent:
        return "android"
    if any(name in agent for name in ("iPhone", "iPad", "iPod")):
        return "ios"
    return "desktop"


def may_buy_here(request: Request[Any, Any, Any]) -> bool:
    return services_of(request).buying.may_buy(platform_of(request))


def watch_only_message(request: Request[Any, Any, Any]) -> str:
    """What the page says instead of Buy buttons on a platform that may only watch."""
    names = {"android": "Android", "ios": "iOS", "desktop": "desktop"}
    return f"Watching on {names[platform_of(request)]} — buying is not available here yet"


def cart_token(request: Request[Any, Any, Any]) -> str | None:
    token = request.cookies.get(CART_COOKIE, "").strip()
    return token or None


def new_cart_token() -> str:
    return secrets.token_urlsafe(24)


def keep_cart_cookie(request: Request[Any, Any, Any], response: Response[Any], token: str) -> None:
    """The guest's cart is found again by this cookie (only its hash is stored)."""
    settings = services_of(request).settings
    response.set_cookie(
        Cookie(
            key=CART_COOKIE,
            value=token,
            httponly=True,
            samesite="lax",
            secure=settings.base_url.startswith("https://"),
            max_age=30 * 86400,
            path="/",
        )
    )


async def keep_guest_cart(request: Request[Any, Any, Any], session_token: str) -> None:
    """At sign-in: what a guest put in the cart moves into the shopper's own cart."""
    token = cart_token(request)
    if token is None:
        return
    services = services_of(request)
    actor = await actor_for_session(services.db, session_token)
    if actor.user_id is not None:
        await services.carts.merge_guest_cart(actor.user_id, token)


def idempotency_key() -> str:
    """A fresh key for one button press; a double tap sends the same one again."""
    return str(uuid.uuid4())


def json_wanted(request: Request[Any, Any, Any]) -> bool:
    return wants_json(request)
