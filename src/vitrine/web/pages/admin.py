"""The operator's admin: applications to decide, merchants and their commission."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from vitrine.accounts import merchants
from vitrine.accounts.models import MerchantStatus
from vitrine.core.errors import ValidationFailed
from vitrine.web.auth import page_actor
from vitrine.web.pages.common import back_to, form_of, percent_to_bps, render
from vitrine.web.services import services_of


async def _admin_page(
    request: Request[Any, Any, Any], *, status: int = 200, **context: Any
) -> Template:
    db = services_of(request).db
    return await render(
        request,
        "admin/index.html",
        status=status,
        pending=await merchants.list_merchants(db, status=MerchantStatus.PENDING),
        approved=await merchants.list_merchants(db, status=MerchantStatus.APPROVED),
        rejected=await merchants.list_merchants(db, status=MerchantStatus.REJECTED),
        **context,
    )


@get("/admin")
async def admin_home(request: Request[Any, Any, Any]) -> Template:
    (await page_actor(request)).require_operator()
    return await _admin_page(request)


@post("/admin/merchants/{merchant_id:int}/decision")
async def decide(request: Request[Any, Any, Any], merchant_id: FromPath[int]) -> Response[Any]:
    values = await form_of(request)
    try:
        await merchants.decide(
            services_of(request).db,
            await page_actor(request),
            merchant_id,
            approve=values.get("decision") == "approve",
            reason=values.get("reason", ""),
        )
    except ValidationFailed as error:
        return await _admin_page(request, status=422, errors={merchant_id: error.errors})
    return back_to("/admin")


@post("/admin/merchants/{merchant_id:int}/commission")
async def commission(request: Request[Any, Any, Any], merchant_id: FromPath[int]) -> Response[Any]:
    (await page_actor(request)).require_operator()  # before reading what was typed
    values = await form_of(request)
    try:
        bps = percent_to_bps(values, "commission")
        await merchants.set_commission(
            services_of(request).db, await page_actor(request), merchant_id, bps
        )
    except ValidationFailed as error:
        return await _admin_page(request, status=422, errors={merchant_id: error.errors})
    return back_to("/admin#merchants")


routes = [admin_home, decide, commission]
