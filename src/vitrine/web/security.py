"""Security headers on every response (a CSP with no inline script, and who may frame us),
and ids no row can have answered as unknown before they reach the database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from vitrine.core.errors import NotFound

LARGEST_ID = 2**31 - 1  # ids are INTEGER columns: 4 bytes on PostgreSQL

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'self'"
)


def csp_framed_by(origins: Sequence[str]) -> str:
    """The CSP of a page other sites may frame: only 'self' and the origins listed (already
    validated as scheme://host[:port], so nothing can break out of the directive)."""
    return CSP.replace("frame-ancestors 'self'", " ".join(["frame-ancestors 'self'", *origins]))


HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


def security_headers(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in HEADERS if name not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def refuse_impossible_ids(request: Request[Any, Any, Any]) -> None:
    """A path id past the columns' range is an unknown id (404), not an overflow error from
    the database driver (a 500). Runs before every handler."""
    for name, value in request.path_params.items():
        if isinstance(value, int) and not 0 <= value <= LARGEST_ID:
            thing = name.removesuffix("_id").replace("_", " ")
            raise NotFound(f"No {thing} #{value} here")
