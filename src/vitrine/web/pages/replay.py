"""The shoppable replay: an ended show's recording with its product timeline, the product
sheets and the chat replayed in step with the video."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import Template

from vitrine.accounts.actor import Actor
from vitrine.accounts.models import MerchantStatus
from vitrine.catalog.models import ProductStatus, variant_label
from vitrine.catalog.products import products_by_ids
from vitrine.catalog.queries import shop_products
from vitrine.core.errors import NotFound
from vitrine.core.money import format_amount
from vitrine.shows import listing
from vitrine.shows.listing import ShowCard
from vitrine.shows.models import ShowStatus
from vitrine.shows.pins import (
    ReplayTimeline,
    recording_clock,
    replay_playlist_text,
    replay_timeline,
)
from vitrine.web.auth import page_actor
from vitrine.web.pages.common import back_to, render
from vitrine.web.pages.shop_common import may_buy_here, watch_only_message
from vitrine.web.services import Services, services_of


@dataclass(frozen=True, slots=True)
class ReplayVariant:
    id: int
    label: str
    price_text: str
    stock: int


@dataclass(frozen=True, slots=True)
class ReplayProduct:
    id: int
    title: str
    description: str
    price_text: str
    image_url: str
    external_url: str
    variants: tuple[ReplayVariant, ...]

    @property
    def in_stock(self) -> bool:
        return any(variant.stock > 0 for variant in self.variants)


async def visible_show(services: Services, actor: Actor, show_id: int) -> ShowCard:
    """The show, unless its brand is not approved (then only its own people see it)."""
    card = await listing.get_show(services.db, show_id)
    if card.merchant.status is not MerchantStatus.APPROVED and not actor.works_for(
        card.merchant.id
    ):
        raise NotFound(f"No show #{show_id}")
    return card


async def replay_products(services: Services, card: ShowCard) -> list[ReplayProduct]:
    """The show's lineup as product sheets: variants with their price and stock."""
    items = await shop_products(services.db, card.merchant.id, show_id=card.show.id, limit=500)
    views = await products_by_ids(services.db, [item.product.id for item in items])
    products = []
    for view in views:
        if view.status is not ProductStatus.ACTIVE:
            continue
        thumb = view.thumbnail_path
        products.append(
            ReplayProduct(
                id=view.id,
                title=view.title,
                description=view.description,
                price_text=format_amount(view.min_price, view.currency),
                image_url=f"/media/{thumb}" if thumb else "",
                external_url=view.external_url,
                variants=tuple(
                    ReplayVariant(
                        id=variant.id,
                        label=variant_label(variant.options),
                        price_text=format_amount(variant.price, view.currency),
                        stock=variant.stock,
                    )
                    for variant in view.variants
                ),
            )
        )
    return products


def clock_anchors(playlist: str, origin_ms: float | None) -> list[tuple[float, float]]:
    """(position s, wall-clock ms) wherever the recording's clock jumps: the browser maps a
    playing position to the moment it was filmed without the whole segment list."""
    clock = recording_clock(playlist, fallback_origin_ms=origin_ms)
    anchors: list[tuple[float, float]] = []
    expected: float | None = None
    for segment in clock.segments:
        if expected is None or abs(segment.pdt_ms - expected) > 50:
            anchors.append((segment.start_s, segment.pdt_ms))
        expected = segment.pdt_ms + segment.duration_s * 1000
    if not anchors and clock.origin_ms is not None:
        anchors.append((0.0, clock.origin_ms))
    return anchors


def replay_data(timeline: ReplayTimeline, anchors: list[tuple[float, float]]) -> dict[str, Any]:
    """What replay.js needs, as JSON (rendered with `tojson`, so no text becomes markup)."""
    return {
        "duration_s": timeline.duration_s,
        "anchors": anchors,
        "pins": [
            {
                "product_id": pin.product_id,
                "title": pin.title,
                "price_text": pin.price_text,
                "image_url": pin.image_url,
                "offset_s": pin.offset_s,
                "end_s": pin.end_s,
            }
            for pin in timeline.pins
        ],
        "chat": [
            {
                "id": line.message_id,
                "author": line.author_name,
                "text": line.text,
                "at": line.sent_at_ms,
            }
            for line in timeline.chat
        ],
    }


async def replay_context(services: Services, card: ShowCard) -> dict[str, Any]:
    """Everything the replay player needs, for the replay page and for the embed."""
    playlist = replay_playlist_text(services.settings.data_dir, card.show.id)
    timeline = await replay_timeline(services.db, card.show, playlist)
    started = card.show.started_at or card.show.scheduled_start
    anchors = clock_anchors(playlist, started.timestamp() * 1000)
    return {
        "card": card,
        "timeline": timeline,
        "replay": replay_data(timeline, anchors),
        "hls_src": services.hls_url(card.show),
        "products": await replay_products(services, card),
    }


@get("/shows/{show_id:int}/replay")
async def replay_page(request: Request[Any, Any, Any], show_id: FromPath[int]) -> Response[Any]:
    services = services_of(request)
    card = await visible_show(services, await page_actor(request), show_id)
    if card.show.status is not ShowStatus.ENDED:
        return back_to(f"/shows/{show_id}")  # nothing recorded yet: the show page says why
    page: Template = await render(
        request,
        "replay/show.html",
        **await replay_context(services, card),
        may_buy=may_buy_here(request),
        watch_only=watch_only_message(request),
        handoff=False,
    )
    return page


routes = [replay_page]
