"""The payment provider's callback. Signed (HMAC over the raw body), so it needs no CSRF
token; a forged or replayed call changes nothing."""

from __future__ import annotations

from typing import Any

from litestar import Request, post

from vitrine.web.services import services_of


@post("/payments/webhook", status_code=200)
async def payment_webhook(request: Request[Any, Any, Any]) -> dict[str, str]:
    services = services_of(request)
    body = await request.body()
    outcome = await services.payments.handle_webhook(
        body, request.headers.get("vitrine-signature", "")
    )
    return {"result": outcome}


routes = [payment_webhook]
