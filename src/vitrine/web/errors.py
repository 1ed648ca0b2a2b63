"""Every domain error becomes a response a person can act on: a problem+json document for the
API, a page for browsers. Malformed requests are 400s, never 500s; a backing service that is
down (database, Redis) is a 503 with Retry-After, never a 500."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect, Template

from vitrine.accounts.actor import GUEST, Actor
from vitrine.core.errors import NotSignedIn, RateLimited, Unavailable, VitrineError

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def _error_page(
    request: Request[Any, Any, Any],
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> Template:
    actor = request.state.get("actor")
    return Template(
        "error.html",
        context={
            "status": status,
            "title": title,
            "detail": detail,
            "actor": actor if isinstance(actor, Actor) else GUEST,
            "my_merchants": [],
            "errors": {},
            "values": {},
        },
        status_code=status,
        headers=headers,
    )


def wants_json(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = dict(headers or {})
    if "retry_after_s" in extra:
        headers["retry-after"] = str(extra["retry_after_s"])
    return Response(body, status_code=status, media_type=PROBLEM, headers=headers)


def on_vitrine_error(request: Request[Any, Any, Any], error: VitrineError) -> Response[Any]:
    extra: dict[str, Any] = {}
    if error.fields():
        extra["errors"] = dict(error.fields())
    if isinstance(error, RateLimited | Unavailable):
        extra["retry_after_s"] = error.retry_after_s
    if wants_json(request):
        return problem(error.status, error.title, error.detail, **extra)
    if isinstance(error, NotSignedIn) and request.method == "GET":
        return Redirect(f"/login?next={quote(request.url.path)}")
    headers = {"retry-after": str(extra["retry_after_s"])} if "retry_after_s" in extra else None
    return _error_page(request, error.status, error.title, error.detail, headers)


def on_service_down(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """A connection to a backing service failed where no domain said what it means: 503."""
    log.warning("%s %s: a backing service is down (%r)", request.method, request.url.path, error)
    unavailable = Unavailable(
        "A service Vitrine needs is not answering; please try again in a moment"
    )
    return on_vitrine_error(request, unavailable)


def on_http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    status = error.status_code
    detail = error.detail or "The request could not be handled"
    extra: dict[str, Any] = {}
    if isinstance(error, ValidationException) and error.extra:
        extra["errors"] = error.extra
        detail = "The request is malformed: " + "; ".join(
            str(item.get("message", item)) if isinstance(item, dict) else str(item)
            for item in (error.extra if isinstance(error.extra, list) else [error.extra])
        )
    if status == 403 and "csrf" in detail.lower():
        detail = "This form has expired; reload the page and try again"
    # What the exception says about itself, e.g. a 405's Allow: the methods that would work.
    headers = dict(error.headers or {})
    title = _TITLES.get(status, "Request refused")
    if wants_json(request):
        return problem(status, title, detail, headers=headers, **extra)
    return _error_page(request, status, title, detail, headers)


def on_unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    detail = "Something went wrong on our side; it has been logged. Please try again."
    if wants_json(request):
        return problem(500, "Internal error", detail)
    return _error_page(request, 500, "Internal error", detail)


_TITLES = {
    400: "Bad request",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    413: "Too large",
    415: "Unsupported media type",
    429: "Too many requests",
    503: "Temporarily unavailable",
}
