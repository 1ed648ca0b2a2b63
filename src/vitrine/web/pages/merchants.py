"""Merchant onboarding and the Shopping Manager's brand, team, show and API-token pages."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from vitrine.accounts import api_tokens, merchants
from vitrine.accounts.models import MemberRole
from vitrine.catalog.queries import shop_products
from vitrine.core.errors import NotFound, ValidationFailed
from vitrine.core.pictures import Upload
from vitrine.shows import listing, schedule
from vitrine.web.auth import page_actor
from vitrine.web.pages.common import back_to, form_of, int_field, invalid, render, upload_of
from vitrine.web.services import services_of


@get("/apply")
async def apply_page(request: Request[Any, Any, Any]) -> Template:
    (await page_actor(request)).require_signed_in()
    return await render(
        request, "manage/apply.html", values={"currency": "EUR", "time_zone": "UTC"}
    )


@post("/apply")
async def apply_submit(request: Request[Any, Any, Any]) -> Response[Any]:
    services = services_of(request)
    actor = await page_actor(request)
    values = await form_of(request)
    form = merchants.Application(
        brand_name=values.get("brand_name", ""),
        handle=values.get("handle", ""),
        description=values.get("description", ""),
        website=values.get("website", ""),
        contact_email=values.get("contact_email", ""),
        currency=values.get("currency", "EUR"),
        time_zone=values.get("time_zone", "UTC"),
    )
    try:
        merchant = await merchants.apply(
            services.db,
            actor,
            form,
            commission_bps=services.settings.default_commission_bps,
            logo=await upload_of(request, "logo"),
        )
    except ValidationFailed as error:
        return await invalid(request, "manage/apply.html", error, values)
    return back_to(f"/manage/{merchant.id}")


@get("/manage")
async def manage_home(request: Request[Any, Any, Any]) -> Response[Any]:
    actor = await page_actor(request)
    actor.require_signed_in()
    mine = await merchants.merchants_of(services_of(request).db, actor)
    if len(mine) == 1:
        return back_to(f"/manage/{mine[0].id}")
    return await render(request, "manage/home.html", merchants=mine)


@get("/manage/{merchant_id:int}")
async def manage_merchant(request: Request[Any, Any, Any], merchant_id: FromPath[int]) -> Template:
    services = services_of(request)
    actor = await page_actor(request)
    if not actor.works_for(merchant_id):
        actor.require_manager(merchant_id)
    merchant = await merchants.get_merchant(services.db, merchant_id)
    return await render(
        request,
        "manage/merchant.html",
        merchant=merchant,
        shows=await listing.shows_of_merchant(services.db, merchant_id),
        followers=await merchants.follower_count(services.db, merchant_id),
        products=await shop_products(services.db, merchant_id, limit=8),
    )


def _show_draft(
    values: dict[str, str], product_ids: list[str], cover: Upload | None = None
) -> schedule.ShowDraft:
    errors: dict[str, str] = {}
    try:
        minutes = int_field(values, "expected_minutes", label="Duration")
    except ValidationFailed as error:
        errors.update(error.errors)
        minutes = 0
    try:
        ids = tuple(int(value) for value in product_ids if value)
    except ValueError:
        errors["product_ids"] = "Pick products from the list"
        ids = ()
    if errors:
        raise ValidationFailed(errors)
    return schedule.ShowDraft(
        title=values.get("title", ""),
        description=values.get("description", ""),
        starts_local=values.get("starts_at", ""),
        expected_minutes=minutes,
        product_ids=ids,
        host_emails=tuple(values.get("host_emails", "").replace(",", " ").split()),
        cover=cover,
        simulcast=values.get("simulcast", ""),
    )


@get("/manage/{merchant_id:int}/shows/new")
async def new_show_page(request: Request[Any, Any, Any], merchant_id: FromPath[int]) -> Template:
    services = services_of(request)
    (await page_actor(request)).require_manager(merchant_id)
    merchant = await merchants.get_merchant(services.db, merchant_id)
    merchants.require_approved(merchant)
    return await render(
        request,
        "manage/show_form.html",
        merchant=merchant,
        products=await shop_products(services.db, merchant_id, limit=500),
        values={"expected_minutes": "30"},
        selected=[],
    )


async def _brand_show(
    request: Request[Any, Any, Any], merchant_id: int, show_id: int
) -> listing.ShowCard:
    """A show of the brand in the path, for its managers; checked before any form is read."""
    (await page_actor(request)).require_manager(merchant_id)
    card = await listing.get_show(services_of(request).db, show_id)
    if card.merchant.id != merchant_id:
        raise NotFound(f"No show #{show_id} of this brand")
    return card


async def _submit_show(
    request: Request[Any, Any, Any], merchant_id: int, show_id: int | None
) -> Response[Any]:
    """Schedule a new show (`show_id` None) or change one; on bad input, the form again."""
    services = services_of(request)
    actor = await page_actor(request)
    if show_id is None:
        actor.require_manager(merchant_id)
    else:
        await _brand_show(request, merchant_id, show_id)
    values = await form_of(request)
    product_ids = [str(v) for v in (await request.form()).getall("product_ids", [])]
    try:
        draft = _show_draft(values, product_ids, await upload_of(request, "cover"))
        if show_id is None:
            show = await schedule.schedule_show(services.db, actor, merchant_id, draft)
        else:
            show = await schedule.reschedule_show(services.db, actor, show_id, draft)
        await services.streams.sync()  # its ingest opens two hours before the start
    except ValidationFailed as error:
        card = None if show_id is None else await listing.get_show(services.db, show_id)
        return await invalid(
            request,
            "manage/show_form.html",
            error,
            values,
            merchant=await merchants.get_merchant(services.db, merchant_id),
            show=card.show if card else None,
            products=await shop_products(services.db, merchant_id, limit=500),
            selected=product_ids,
        )
    return back_to(f"/manage/{merchant_id}/shows/{show.id}")


@post("/manage/{merchant_id:int}/shows/new")
async def new_show_submit(
    request: Request[Any, Any, Any], merchant_id: FromPath[int]
) -> Response[Any]:
    return await _submit_show(request, merchant_id, None)


@get("/manage/{merchant_id:int}/shows/{show_id:int}")
async def manage_show(
    request: Request[Any, Any, Any], merchant_id: FromPath[int], show_id: FromPath[int]
) -> Template:
    services = services_of(request)
    actor = await page_actor(request)
    card = await listing.get_show(services.db, show_id)
    async with services.db.read() as session:
        if card.merchant.id != merchant_id or not await schedule.is_host(session, actor, card.show):
            actor.require_manager(card.merchant.id)
        lineup = await schedule.lineup_product_ids(session, show_id)
        hosts = await schedule.host_emails(session, show_id)
    products = {
        item.product.id: item for item in await shop_products(services.db, merchant_id, limit=500)
    }
    return await render(
        request,
        "manage/show.html",
        card=card,
        lineup=[products[pid] for pid in lineup if pid in products],
        hosts=hosts,
        settings=services.settings,
    )


@get("/manage/{merchant_id:int}/shows/{show_id:int}/edit")
async def edit_show_page(
    request: Request[Any, Any, Any], merchant_id: FromPath[int], show_id: FromPath[int]
) -> Template:
    services = services_of(request)
    card = await _brand_show(request, merchant_id, show_id)
    async with services.db.read() as session:
        lineup = await schedule.lineup_product_ids(session, show_id)
        hosts = await schedule.host_emails(session, show_id)
        simulcast = await schedule.simulcast_text(session, show_id)
    local = card.show.scheduled_start.astimezone(_zone(card.merchant.time_zone))
    return await render(
        request,
        "manage/show_form.html",
        merchant=card.merchant,
        show=card.show,
        products=await shop_products(services.db, merchant_id, limit=500),
        selected=[str(pid) for pid in lineup],
        values={
            "title": card.show.title,
            "description": card.show.description,
            "starts_at": local.strftime("%Y-%m-%dT%H:%M"),
            "expected_minutes": str(card.show.expected_minutes),
            "host_emails": " ".join(hosts),
            "simulcast": simulcast,
        },
    )


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


@post("/manage/{merchant_id:int}/shows/{show_id:int}/edit")
async def edit_show_submit(
    request: Request[Any, Any, Any], merchant_id: FromPath[int], show_id: FromPath[int]
) -> Response[Any]:
    return await _submit_show(request, merchant_id, show_id)


@post("/manage/{merchant_id:int}/shows/{show_id:int}/cancel")
async def cancel_show(
    request: Request[Any, Any, Any], merchant_id: FromPath[int], show_id: FromPath[int]
) -> Response[Any]:
    services = services_of(request)
    show = await schedule.cancel_show(services.db, await page_actor(request), show_id)
    await services.streams.sync()
    await services.notifier.show_changed(show)  # those reminded hear it now
    return back_to(f"/manage/{merchant_id}/shows/{show_id}")


@post("/manage/{merchant_id:int}/shows/{show_id:int}/key")
async def rotate_key(
    request: Request[Any, Any, Any], merchant_id: FromPath[int], show_id: FromPath[int]
) -> Response[Any]:
    services = services_of(request)
    await schedule.rotate_stream_key(services.db, await page_actor(request), show_id)
    await services.streams.sync()  # the old key stops working now
    return back_to(f"/manage/{merchant_id}/shows/{show_id}#go-live")


@get("/manage/{merchant_id:int}/team")
async def team_page(request: Request[Any, Any, Any], merchant_id: FromPath[int]) -> Template:
    services = services_of(request)
    actor = await page_actor(request)
    actor.require_manager(merchant_id)
    return await render(
        request,
        "manage/team.html",
        merchant=await merchants.get_merchant(services.db, merchant_id),
        tokens=await api_tokens.tokens_of(services.db, actor, merchant_id),
        new_secret=None,
    )


@post("/manage/{merchant_id:int}/team")
async def add_member(request: Request[Any, Any, Any], merchant_id: FromPath[int]) -> Response[Any]:
    services = services_of(request)
    actor = await page_actor(request)
    values = await form_of(request)
    role = MemberRole.HOST if values.get("role") == "host" else MemberRole.STAFF
    try:
        await merchants.add_member(services.db, actor, merchant_id, values.get("email", ""), role)
    except ValidationFailed as error:
        return await invalid(
            request,
            "manage/team.html",
            error,
            values,
            merchant=await merchants.get_merchant(services.db, merchant_id),
            tokens=await api_tokens.tokens_of(services.db, actor, merchant_id),
            new_secret=None,
        )
    return back_to(f"/manage/{merchant_id}/team")


@post("/manage/{merchant_id:int}/tokens")
async def issue_token(request: Request[Any, Any, Any], merchant_id: FromPath[int]) -> Template:
    services = services_of(request)
    actor = await page_actor(request)
    values = await form_of(request)
    merchant = await merchants.get_merchant(services.db, merchant_id)
    try:
        issued = await api_tokens.issue_token(
            services.db, actor, merchant_id, values.get("name", "")
        )
    except ValidationFailed as error:
        return await invalid(
            request,
            "manage/team.html",
            error,
            values,
            merchant=merchant,
            tokens=await api_tokens.tokens_of(services.db, actor, merchant_id),
            new_secret=None,
        )
    return await render(
        request,
        "manage/team.html",
        merchant=merchant,
        tokens=await api_tokens.tokens_of(services.db, actor, merchant_id),
        new_secret=issued.secret,
    )


@post("/manage/{merchant_id:int}/tokens/{token_id:int}/revoke")
async def revoke_token(
    request: Request[Any, Any, Any], merchant_id: FromPath[int], token_id: FromPath[int]
) -> Response[Any]:
    await api_tokens.revoke_token(
        services_of(request).db, await page_actor(request), merchant_id, token_id
    )
    return back_to(f"/manage/{merchant_id}/team")


routes = [
    apply_page,
    apply_submit,
    manage_home,
    manage_merchant,
    new_show_page,
    new_show_submit,
    manage_show,
    edit_show_page,
    edit_show_submit,
    cancel_show,
    rotate_key,
    team_page,
    add_member,
    issue_token,
    revoke_token,
]
