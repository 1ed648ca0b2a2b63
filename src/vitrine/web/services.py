"""What a request handler can reach: the services wired at start-up (no globals)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request

from vitrine.accounts.session_cache import SessionCache
from vitrine.analytics.recorder import ViewRecorder
from vitrine.catalog.csv_import import CatalogImports
from vitrine.chat.service import ChatService
from vitrine.commerce.cart import CartService
from vitrine.commerce.checkout import CheckoutService
from vitrine.commerce.deals import DealService
from vitrine.commerce.external import ExternalClicks
from vitrine.commerce.gate import DealGate
from vitrine.commerce.gateway import TestCardGateway
from vitrine.commerce.ledger import LedgerService
from vitrine.commerce.orders import OrderService
from vitrine.commerce.payments import PaymentService
from vitrine.commerce.policy import BuyingPolicy
from vitrine.commerce.reservations import ReservationService
from vitrine.config import Settings
from vitrine.core.broker import Broker
from vitrine.core.db import Database
from vitrine.core.ratelimit import RateLimiter
from vitrine.core.tasks import Background
from vitrine.live.channel import LiveChannel
from vitrine.live.edge import LiveEdge
from vitrine.shows.live_state import ShowLifecycle
from vitrine.shows.models import Show, ShowStatus
from vitrine.shows.notify import Notifier
from vitrine.shows.on_air import OnAir
from vitrine.shows.snapshot import ShowSnapshots
from vitrine.shows.streaming import ShowStreams


@dataclass(slots=True)
class Services:
    settings: Settings
    db: Database
    broker: Broker
    limiter: RateLimiter
    channel: LiveChannel
    chat: ChatService
    snapshots: ShowSnapshots
    lifecycle: ShowLifecycle
    on_air: OnAir
    imports: CatalogImports
    streams: ShowStreams
    background: Background
    notifier: Notifier
    buying: BuyingPolicy
    carts: CartService
    checkout: CheckoutService
    payments: PaymentService
    orders: OrderService
    ledger: LedgerService
    clicks: ExternalClicks
    reservations: ReservationService
    deals: DealService
    payment_provider: TestCardGateway
    deal_gate: DealGate
    sessions: SessionCache  # for the routes a flash deal's burst hits
    edge: LiveEdge | None = None
    views: ViewRecorder | None = None  # analytics of who watches, set by wiring

    @property
    def live_url(self) -> str:
        """Where browsers open the live channel (the edge's real port when it chose one)."""
        settings = self.settings
        if settings.live_public_url or self.edge is None:
            return settings.live_url
        return f"ws://{settings.host}:{self.edge.port}"

    def hls_url(self, show: Show) -> str | None:
        """Where the player finds the show's video: the live playlist, or the replay."""
        if show.status is ShowStatus.LIVE:
            media = self.streams.media
            return (
                media.live_playlist_url(show.id) if media else None
            ) or f"/hls/{show.id}/live.m3u8"
        if show.status is ShowStatus.ENDED:
            return f"/hls/{show.id}/replay.m3u8"
        return None


def services_of(request: Request[Any, Any, Any]) -> Services:
    services: Services = request.app.state.services
    return services
