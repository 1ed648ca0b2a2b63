"""The host's studio during a show: go live, pin products, announce, moderate the chat and
answer questions. Actions answer JSON to the studio's script, or redirect a plain form back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vitrine.accounts.actor import Actor
from vitrine.catalog.models import Product, Variant, variant_label
from vitrine.core.errors import NotFound, ValidationFailed
from vitrine.core.money import parse_amount
from vitrine.live.events import LineupItem
from vitrine.media import EmbeddedBackend
from vitrine.shows import listing, schedule
from vitrine.shows.models import Show, ShowStatus
from vitrine.shows.on_air import lineup_items
from vitrine.shows.streaming import OPEN_BEFORE
from vitrine.web.auth import page_actor
from vitrine.web.errors import wants_json
from vitrine.web.pages.common import back_to, form_of, int_field, render
from vitrine.web.services import Services, services_of


async def _host(request: Request[Any, Any, Any], show_id: int) -> tuple[Services, Actor]:
    services = services_of(request)
    actor = await page_actor(request)
    actor.require_signed_in()
    card = await listing.get_show(services.db, show_id)
    async with services.db.read() as session:
        if not await schedule.is_host(session, actor, card.show):
            raise NotFound(f"No show #{show_id} that you host")
    return services, actor


@dataclass(frozen=True, slots=True)
class Ingest:
    """What the host types into OBS or a phone app."""

    rtmp_server: str
    rtmp_stream_key: str
    srt_url: str | None
    opens_at: str | None  # when the key starts working, if not yet


@dataclass(frozen=True, slots=True)
class DealChoice:
    """A line of the deal form's product list: one variant of a lineup product."""

    variant_id: int
    name: str  # "M / Red"; the product's title heads its group
    stock: int


@dataclass(frozen=True, slots=True)
class DealProduct:
    product_id: int
    title: str
    choices: list[DealChoice]  # one for a product without sizes or colours


async def deal_products(session: AsyncSession, lineup: list[LineupItem]) -> list[DealProduct]:
    """What a deal can be started on: every variant of the lineup, grouped by product."""
    ids = [int(item.product_id) for item in lineup]
    variants = (
        await session.scalars(
            select(Variant)
            .where(Variant.product_id.in_(ids))
            .order_by(Variant.product_id, Variant.position, Variant.id)
        )
    ).all()
    by_product: dict[int, list[DealChoice]] = {}
    for variant in variants:
        by_product.setdefault(variant.product_id, []).append(
            DealChoice(variant.id, variant_label(variant.options), variant.stock)
        )
    return [
        DealProduct(int(item.product_id), item.title, by_product[int(item.product_id)])
        for item in lineup
        if int(item.product_id) in by_product
    ]


def ingest_of(services: Services, show: Show) -> Ingest:
    settings = services.settings
    public_host = urlparse(settings.base_url).hostname or settings.host
    media = services.streams.media
    if isinstance(media, EmbeddedBackend) and show.id in services.streams.opened:
        urls = media.ingest_urls(show.id, public_host)
        server = settings.rtmp_public_url or urls.rtmp_server
        return Ingest(server, urls.rtmp_stream_key, urls.srt_url, None)
    server = settings.rtmp_public_url or f"rtmp://{public_host}:{settings.rtmp_port}/live"
    opens = None
    if show.status is ShowStatus.SCHEDULED:
        opens = (show.scheduled_start - OPEN_BEFORE).isoformat()
    return Ingest(server, f"{show.public_name}?key={show.stream_key}", None, opens)


def _done(request: Request[Any, Any, Any], show_id: int, **body: Any) -> Response[Any]:
    if wants_json(request):
        return Response({"ok": True, **body}, status_code=200)
    return back_to(f"/studio/{show_id}")


@get("/studio/{show_id:int}")
async def studio(request: Request[Any, Any, Any], show_id: FromPath[int]) -> Template:
    services, _actor = await _host(request, show_id)
    card = await listing.get_show(services.db, show_id)
    async with services.db.read() as session:
        lineup = await lineup_items(session, show_id)
        deal_choices = await deal_products(session, lineup)
    await services.streams.sync()
    return await render(
        request,
        "studio/show.html",
        card=card,
        lineup=lineup,
        deal_products=deal_choices,
        ingest=ingest_of(services, card.show),
        questions=await services.chat.open_questions(show_id),
        live_url=f"{services.live_url}/shows/{show_id}/live",
        hls_src=services.hls_url(card.show) or f"/hls/{show_id}/live.m3u8",
    )


@post("/studio/{show_id:int}/go-live")
async def go_live(request: Request[Any, Any, Any], show_id: FromPath[int]) -> Response[Any]:
    services, actor = await _host(request, show_id)
    show = await services.lifecycle.go_live(actor, show_id)
    return _done(request, show_id, state=show.status.value)


@post("/studio/{show_id:int}/end")
async def end_show(request: Request[Any, Any, Any], show_id: FromPath[int]) -> Response[Any]:
    services, actor = await _host(request, show_id)
    show = await services.lifecycle.end(actor, show_id)
    # Stopping the ingest and remuxing the replay takes a moment: not on the request.
    services.background.spawn(services.streams.close(show_id))
    return _done(request, show_id, state=show.status.value)


@post("/studio/{show_id:int}/pin")
async def pin(request: Request[Any, Any, Any], show_id: FromPath[int]) -> Response[Any]:
    services, actor = await _host(request, show_id)
    values = await form_of(request)
    if values.get("product_id"):
        await services.on_air.pin(actor, show_id, int_field(values, "product_id", label="Product"))
    else:
        await services.on_air.unpin(actor, show_id)
    return _done(request, show_id)


@post("/studio/{show_id:int}/lineup")
async def reorder(request: Request[Any, Any, Any], show_id: FromPath[int]) -> Response[Any]:
    services, actor = await _host(request, show_id)
    values = await form_of(request)
    try:
        order = [int(part) for part in values.get("order", "").split(",") if part.strip()]
    except ValueError:
        raise ValidationFailed({"order": "Send product ids separated by commas"}) from None
    await services.on_air.reorder(actor, show_id, order)
    return _done(request, show_id)


@post("/studio/{show_id:int}/announce")
async def announce(request: Request[Any, Any, Any], show_id: FromPath[int]) -> Response[Any]:
    services, actor = await _host(request, show_id)
    await services.on_air.announce(actor, show_id, (await form_of(request)).get("text", ""))
    return _done(request, show_id)


@post("/studio/{show_id:int}/deals")
async def start_deal(request: Request[Any, Any, Any], show_id: FromPath[int]) -> Response[Any]:
    """A flash deal on a variant of the lineup (the form's choice; `product_id` for a product of
    one variant, as scripts send): price, units, how long, how many per shopper."""
    services, actor = await _host(request, show_id)
    values = await form_of(request)
    errors: dict[str, str] = {}
    numbers: dict[str, int] = {}
    chosen = ("variant_id", "Product") if values.get("variant_id") else ("product_id", "Product")
    for name, label in (
        chosen,
        ("quantity", "Units"),
        ("duration_s", "Duration"),
        ("per_shopper_limit", "Per shopper"),
    ):
        try:
            numbers[name] = int_field(values, name, label=label)
        except ValidationFailed as error:
            errors.update(error.errors)
    currency = "EUR"
    if chosen[0] in numbers:
        product = select(Product.currency)
        if "variant_id" in numbers:
            product = product.join(Variant).where(Variant.id == numbers["variant_id"])
        else:
            product = product.where(Product.id == numbers["product_id"])
        async with services.db.read() as session:
            currency = await session.scalar(product) or currency
    try:
        price = parse_amount(values.get("deal_price", ""), currency, field="deal_price")
    except ValidationFailed as error:
        errors.update(error.errors)
    if errors:
        raise ValidationFailed(errors)
    state = await services.deals.start_deal(
        actor,
        show_id,
        deal_price=price,
        quantity=numbers["quantity"],
        duration_s=numbers["duration_s"],
        per_shopper_limit=numbers["per_shopper_limit"],
        variant_id=numbers.get("variant_id"),
        product_id=numbers.get("product_id"),
    )
    return _done(request, show_id, deal_id=state.deal_id)


@post("/studio/{show_id:int}/deals/{deal_id:int}/end")
async def end_deal(
    request: Request[Any, Any, Any], show_id: FromPath[int], deal_id: FromPath[int]
) -> Response[Any]:
    services, actor = await _host(request, show_id)
    await services.deals.end_deal(actor, deal_id)
    return _done(request, show_id)


@post("/studio/{show_id:int}/slow-mode")
async def slow_mode(request: Request[Any, Any, Any], show_id: FromPath[int]) -> Response[Any]:
    services, actor = await _host(request, show_id)
    seconds = int_field(await form_of(request), "seconds", label="Slow mode")
    await services.chat.set_slow_mode(actor, show_id, seconds)
    return _done(request, show_id)


@post("/studio/{show_id:int}/messages/{message_id:int}/{action:str}")
async def moderate_message(
    request: Request[Any, Any, Any],
    show_id: FromPath[int],
    message_id: FromPath[int],
    action: FromPath[str],
) -> Response[Any]:
    services = services_of(request)
    actor = await page_actor(request)
    if action == "remove":
        await services.chat.remove_message(actor, show_id, message_id)
    elif action == "answered":
        await services.chat.answer_question(actor, show_id, message_id)
    else:
        raise NotFound(f"No message action '{action}'; use remove or answered")
    return _done(request, show_id)


@post("/studio/{show_id:int}/users/{user_id:int}/{action:str}")
async def moderate_user(
    request: Request[Any, Any, Any],
    show_id: FromPath[int],
    user_id: FromPath[int],
    action: FromPath[str],
) -> Response[Any]:
    services = services_of(request)
    actor = await page_actor(request)
    values = await form_of(request)
    if action == "timeout":
        minutes = int_field(values, "minutes", label="Minutes") if values.get("minutes") else 5
        until = await services.chat.time_out(
            actor, show_id, user_id, minutes=minutes, reason=values.get("reason", "")
        )
        return _done(request, show_id, until=until.isoformat())
    if action == "ban":
        await services.chat.ban(actor, show_id, user_id, reason=values.get("reason", ""))
        return _done(request, show_id)
    raise NotFound(f"No user action '{action}'; use timeout or ban")


routes = [
    go_live,
    end_show,
    pin,
    reorder,
    announce,
    start_deal,
    end_deal,
    slow_mode,
    moderate_message,
    moderate_user,
    studio,
]
