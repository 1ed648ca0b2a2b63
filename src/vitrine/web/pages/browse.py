"""What shoppers and guests see: the home page, brand profiles, show pages."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from vitrine.accounts.merchants import follow, follower_count, follows, merchant_by_handle
from vitrine.accounts.models import MerchantStatus
from vitrine.catalog.queries import shop_products
from vitrine.core.errors import NotFound
from vitrine.shows import discovery, listing, reminders
from vitrine.web.auth import page_actor
from vitrine.web.pages.common import back_to, render
from vitrine.web.services import services_of


@get("/")
async def home(request: Request[Any, Any, Any]) -> Template:
    services = services_of(request)
    db = services.db
    viewers_here = services.edge.viewers_here if services.edge else None
    return await render(
        request,
        "home.html",
        live=await discovery.live_by_viewers(db, services.broker, viewers_here),
        upcoming=await listing.upcoming(db),
        recent=await listing.recent(db),
    )


@get("/brands/{handle:str}")
async def brand_profile(request: Request[Any, Any, Any], handle: FromPath[str]) -> Template:
    services = services_of(request)
    actor = await page_actor(request)
    merchant = await merchant_by_handle(services.db, handle)
    if merchant.status is not MerchantStatus.APPROVED and not actor.works_for(merchant.id):
        raise NotFound(f"No brand called @{handle}")
    return await render(
        request,
        "brands/profile.html",
        merchant=merchant,
        products=await shop_products(services.db, merchant.id),
        upcoming=await listing.upcoming(services.db, merchant_id=merchant.id),
        recent=await listing.recent(services.db, merchant_id=merchant.id),
        followers=await follower_count(services.db, merchant.id),
        following=await follows(services.db, actor, merchant.id),
    )


@post("/brands/{handle:str}/follow")
async def follow_brand(request: Request[Any, Any, Any], handle: FromPath[str]) -> Response[Any]:
    services = services_of(request)
    merchant = await merchant_by_handle(services.db, handle)
    form = await request.form()
    await follow(services.db, await page_actor(request), merchant.id, on=form.get("on") != "0")
    return back_to(f"/brands/{merchant.handle}")


@get("/shows/{show_id:int}")
async def show_page(request: Request[Any, Any, Any], show_id: FromPath[int]) -> Template:
    services = services_of(request)
    card = await listing.get_show(services.db, show_id)
    actor = await page_actor(request)
    if card.merchant.status is not MerchantStatus.APPROVED and not actor.works_for(
        card.merchant.id
    ):
        raise NotFound(f"No show #{show_id}")
    products = await shop_products(services.db, card.merchant.id, show_id=show_id)
    return await render(
        request,
        "shows/show.html",
        card=card,
        products=products,
        live_url=f"{services.settings.live_url}/shows/{show_id}/live",
        hls_src=services.hls_url(card.show),
        reminder=await reminders.reminder_state(services.db, actor, card.show),
    )


routes = [home, brand_profile, follow_brand, show_page]
