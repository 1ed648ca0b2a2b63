"""The player for a merchant's own site: the embeddable show and channel pages, the oEmbed
endpoint, and the merchant's list of sites allowed to frame them (CSP `frame-ancestors`).

Inside a third-party frame the browser withholds our SameSite=Lax cookies, so the shopper is a
guest with no cart and no CSRF token there: buying hands off to Vitrine in a new tab."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode, urlsplit

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template
from markupsafe import escape
from sqlalchemy import select

from vitrine.accounts.actor import GUEST, Actor
from vitrine.accounts.merchants import get_merchant, merchant_by_handle
from vitrine.accounts.models import Merchant, MerchantStatus
from vitrine.core.db import Database
from vitrine.core.errors import NotFound, ValidationFailed
from vitrine.shows import listing
from vitrine.shows.listing import ShowCard
from vitrine.shows.models import Show, ShowStatus
from vitrine.web.auth import page_actor
from vitrine.web.pages.common import back_to, form_of, render
from vitrine.web.pages.replay import replay_context, replay_products, visible_show
from vitrine.web.security import csp_framed_by
from vitrine.web.services import Services, services_of

MAX_ORIGINS = 20
EMBED_WIDTH = 640
EMBED_HEIGHT = 540
_HOST = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
    r"|\[[0-9a-f:.]+\])$"
)


# -- the sites allowed to embed a brand --------------------------------------------------


def parse_origins(text: str) -> tuple[str, ...]:
    """Origins, one per line (or separated by spaces or commas): `https://shop.example.com`,
    `http://127.0.0.1:8080`. Scheme and host, an optional port, nothing else."""
    found: list[str] = []
    for raw in re.split(r"[\s,]+", text.strip()):
        if not raw:
            continue
        origin = _origin_of(raw)
        if origin not in found:
            found.append(origin)
    if len(found) > MAX_ORIGINS:
        raise ValidationFailed({"embed_origins": f"List at most {MAX_ORIGINS} sites"})
    return tuple(found)


def _origin_of(raw: str) -> str:
    refuse = ValidationFailed(
        {
            "embed_origins": f"“{raw[:80]}” is not a site's origin: write the scheme and host, "
            "an optional port and nothing after, like https://shop.example.com"
        }
    )
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise refuse from None
    host = (parts.hostname or "").lower()
    if (
        parts.scheme.lower() not in ("http", "https")
        or not host
        or parts.username is not None
        or parts.password is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or raw.endswith(("?", "#"))
        or not _HOST.match(host if ":" not in host else f"[{host}]")
    ):
        raise refuse
    shown_host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme.lower()}://{shown_host}" + (f":{port}" if port is not None else "")


def origins_of(merchant: Merchant) -> tuple[str, ...]:
    return tuple(line for line in merchant.embed_origins.split() if line)


async def set_embed_origins(db: Database, actor: Actor, merchant_id: int, text: str) -> Merchant:
    """The owner or staff replace the list of sites allowed to embed the brand's player."""
    actor.require_manager(merchant_id)
    origins = parse_origins(text)
    async with db.write() as tx:
        merchant = await tx.session.get(Merchant, merchant_id)
        if merchant is None:
            raise NotFound(f"No merchant #{merchant_id}")
        merchant.embed_origins = "\n".join(origins)
    return merchant


# -- what a frame shows -----------------------------------------------------------------


async def channel_show(db: Database, merchant_id: int) -> Show | None:
    """A brand's channel: the show live now, else the next one, else the latest replay."""
    async with db.read() as session:
        for status, order in (
            (ShowStatus.LIVE, Show.started_at.desc()),
            (ShowStatus.SCHEDULED, Show.scheduled_start.asc()),
            (ShowStatus.ENDED, Show.ended_at.desc()),
        ):
            show = await session.scalar(
                select(Show)
                .where(Show.merchant_id == merchant_id, Show.status == status)
                .order_by(order, Show.id.desc())
                .limit(1)
            )
            if show is not None:
                return show
    return None


def framed(page: Template, merchant: Merchant) -> Template:
    """Only the merchant's listed sites (and Vitrine itself) may put this page in a frame."""
    page.headers["content-security-policy"] = csp_framed_by(origins_of(merchant))
    return page


async def _embed_page(request: Request[Any, Any, Any], card: ShowCard) -> Template:
    services = services_of(request)
    show = card.show
    context: dict[str, Any] = {"card": card, "base_url": services.settings.base_url}
    if show.status is ShowStatus.ENDED:
        context.update(await replay_context(services, card))
    else:
        context["products"] = await replay_products(services, card)
        context["hls_src"] = services.hls_url(show)
        context["live_url"] = f"{services.settings.live_url}/shows/{show.id}/live"
    page: Template = await render(
        request, "embed/show.html", **context, handoff=True, may_buy=False, watch_only=""
    )
    return framed(page, card.merchant)


@get("/embed/shows/{show_id:int}")
async def embed_show(request: Request[Any, Any, Any], show_id: FromPath[int]) -> Template:
    services = services_of(request)
    card = await visible_show(services, GUEST, show_id)
    return await _embed_page(request, card)


@get("/embed/brands/{handle:str}")
async def embed_brand(request: Request[Any, Any, Any], handle: FromPath[str]) -> Template:
    services = services_of(request)
    merchant = await merchant_by_handle(services.db, handle)
    if merchant.status is not MerchantStatus.APPROVED:
        raise NotFound(f"No brand called @{handle}")
    show = await channel_show(services.db, merchant.id)
    if show is None:
        page: Template = await render(request, "embed/empty.html", merchant=merchant)
        return framed(page, merchant)
    return await _embed_page(request, ShowCard(show, merchant))


# -- oEmbed ------------------------------------------------------------------------------


def iframe_html(src: str, title: str, width: int, height: int) -> str:
    return (
        f'<iframe src="{escape(src)}" width="{width}" height="{height}" '
        f'title="{escape(title)}" style="border:0;max-width:100%" loading="lazy" '
        'allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>'
    )


def _size(values: dict[str, str]) -> tuple[int, int]:
    scale = 1.0
    for name, full in (("maxwidth", EMBED_WIDTH), ("maxheight", EMBED_HEIGHT)):
        text = values.get(name, "")
        if text.isdigit() and int(text) > 0:
            scale = min(scale, int(text) / full)
    return round(EMBED_WIDTH * scale), round(EMBED_HEIGHT * scale)


async def _oembed_target(services: Services, url: str) -> tuple[str, str, Merchant, Show | None]:
    """(embed path, title, merchant, show) of a show or brand page URL of this instance."""
    base = urlsplit(services.settings.base_url)
    parts = urlsplit(url.strip())
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
        raise NotFound("This URL is not a page of this Vitrine")
    if found := re.fullmatch(r"/(?:embed/)?shows/(\d+)(?:/replay)?/?", parts.path):
        card = await visible_show(services, GUEST, int(found[1]))
        return f"/embed/shows/{card.show.id}", card.show.title, card.merchant, card.show
    if found := re.fullmatch(r"/(?:embed/)?brands/([A-Za-z0-9_-]+)/?", parts.path):
        merchant = await merchant_by_handle(services.db, found[1])
        if merchant.status is not MerchantStatus.APPROVED:
            raise NotFound(f"No brand called @{found[1]}")
        return f"/embed/brands/{merchant.handle}", merchant.brand_name, merchant, None
    raise NotFound("Only show and brand pages can be embedded")


@get("/oembed")
async def oembed(request: Request[Any, Any, Any]) -> Response[Any]:
    """oEmbed 1.0 (https://oembed.com): a "video" whose html is the player's iframe."""
    services = services_of(request)
    values = {key: str(value) for key, value in request.query_params.items()}
    if values.get("format", "json") != "json":
        return Response({"detail": "Only format=json is offered"}, status_code=501)
    if not values.get("url"):
        raise ValidationFailed({"url": "Give the URL of a show or brand page"})
    path, title, merchant, show = await _oembed_target(services, values["url"])
    width, height = _size(values)
    base_url = services.settings.base_url
    body: dict[str, Any] = {
        "version": "1.0",
        "type": "video",
        "provider_name": "Vitrine",
        "provider_url": base_url,
        "title": title,
        "author_name": merchant.brand_name,
        "author_url": f"{base_url}/brands/{merchant.handle}",
        "html": iframe_html(base_url + path, title, width, height),
        "width": width,
        "height": height,
    }
    picture = (show.cover_path if show is not None else None) or merchant.logo_path
    if picture:
        body |= {
            "thumbnail_url": f"{base_url}/media/{picture}",
            "thumbnail_width": EMBED_WIDTH,
            "thumbnail_height": EMBED_WIDTH * 9 // 16,
        }
    return Response(body, media_type="application/json")


def oembed_link(base_url: str, page_url: str) -> str:
    """Where a page's `<link rel="alternate" type="application/json+oembed">` points."""
    return f"{base_url}/oembed?" + urlencode({"url": page_url, "format": "json"})


# -- the merchant's embed settings -------------------------------------------------------


async def _settings_page(
    request: Request[Any, Any, Any],
    merchant: Merchant,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    saved: bool = False,
) -> Template:
    services = services_of(request)
    base_url = services.settings.base_url
    shows = [
        card.show
        for card in [
            *await listing.upcoming(services.db, merchant_id=merchant.id, limit=5),
            *await listing.recent(services.db, merchant_id=merchant.id, limit=5),
        ]
    ]
    return await render(
        request,
        "manage/embed.html",
        status=422 if errors else 200,
        merchant=merchant,
        values=values or {"embed_origins": "\n".join(origins_of(merchant))},
        errors=errors or {},
        saved=saved,
        channel_snippet=iframe_html(
            f"{base_url}/embed/brands/{merchant.handle}",
            merchant.brand_name,
            EMBED_WIDTH,
            EMBED_HEIGHT,
        ),
        show_snippets=[
            (
                show,
                iframe_html(
                    f"{base_url}/embed/shows/{show.id}", show.title, EMBED_WIDTH, EMBED_HEIGHT
                ),
            )
            for show in shows
        ],
    )


@get("/manage/{merchant_id:int}/embed")
async def embed_settings(request: Request[Any, Any, Any], merchant_id: FromPath[int]) -> Template:
    actor = await page_actor(request)
    actor.require_manager(merchant_id)
    merchant = await get_merchant(services_of(request).db, merchant_id)
    return await _settings_page(request, merchant, saved=request.query_params.get("saved") == "1")


@post("/manage/{merchant_id:int}/embed")
async def save_embed_settings(
    request: Request[Any, Any, Any], merchant_id: FromPath[int]
) -> Response[Any]:
    services = services_of(request)
    actor = await page_actor(request)
    values = await form_of(request)
    try:
        await set_embed_origins(services.db, actor, merchant_id, values.get("embed_origins", ""))
    except ValidationFailed as error:
        merchant = await get_merchant(services.db, merchant_id)
        return await _settings_page(request, merchant, values=values, errors=dict(error.errors))
    return back_to(f"/manage/{merchant_id}/embed?saved=1")


routes = [embed_show, embed_brand, oembed, embed_settings, save_embed_settings]
