"""Builds the running parts from settings, in dependency order, and takes them down again."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis

from vitrine.accounts.session_cache import SessionCache
from vitrine.analytics.recorder import ViewRecorder
from vitrine.catalog.csv_import import CatalogImports, fail_interrupted_imports
from vitrine.chat.service import ChatService
from vitrine.commerce.cart import CartService
from vitrine.commerce.checkout import CheckoutService
from vitrine.commerce.deals import DealService
from vitrine.commerce.external import ExternalClicks
from vitrine.commerce.gate import DealGate, MemoryDealGate, RedisDealGate
from vitrine.commerce.gateway import TestCardGateway
from vitrine.commerce.ledger import LedgerService
from vitrine.commerce.on_air import LiveAnnouncer, live_deals
from vitrine.commerce.orders import OrderService
from vitrine.commerce.payments import PaymentService
from vitrine.commerce.policy import BuyingPolicy
from vitrine.commerce.reservations import ReservationService
from vitrine.config import Settings, secret_key
from vitrine.core.broker import broker_from_url
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.core.mail import SmtpMailer
from vitrine.core.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from vitrine.core.tasks import Background
from vitrine.demo import demo_show
from vitrine.live.channel import LiveChannel
from vitrine.live.edge import LiveEdge
from vitrine.media import (
    EmbeddedBackend,
    KeyAttempts,
    MediaBackend,
    MediaConfig,
    NginxRtmpBackend,
)
from vitrine.media.demo import DemoSource, ffmpeg_path, find_font, rtmp_publish_url
from vitrine.shows.live_state import ShowLifecycle
from vitrine.shows.models import Show
from vitrine.shows.notify import Notifier
from vitrine.shows.notify_mail import MailComposer
from vitrine.shows.on_air import OnAir
from vitrine.shows.snapshot import ShowSnapshots, show_state
from vitrine.shows.streaming import ShowStreams
from vitrine.web.live_identify import SessionIdentify
from vitrine.web.services import Services

log = logging.getLogger(__name__)
EMAIL_TEMPLATES = Path(__file__).resolve().parent / "web" / "templates" / "emails"


def notifier_for(settings: Settings, db: Database, secret: str) -> Notifier:
    """Go-live and cancellation notices: in-app always, e-mail when an SMTP host is set."""
    mailer = SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.mail_from,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
    )
    composer = MailComposer(EMAIL_TEMPLATES, settings.base_url, secret)
    return Notifier(db, mailer, composer, sweep_s=settings.notify_sweep_s)


@asynccontextmanager
async def running(
    settings: Settings, *, with_edge: bool = True, with_media: bool = True
) -> AsyncIterator[Services]:
    """Everything an instance runs: storage, broker, live channel and edge, domain services."""
    db = Database(settings.database)
    broker = broker_from_url(settings.redis_url, prefix=settings.redis_prefix)
    await broker.start()
    redis_client = (
        aioredis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
        if settings.redis_url
        else None
    )
    limiter: RateLimiter = (
        RedisRateLimiter(redis_client, prefix=f"{settings.redis_prefix}rate:")
        if redis_client
        else MemoryRateLimiter()
    )
    channel = LiveChannel(broker)
    chat = ChatService(db, channel, limiter)
    snapshots = ShowSnapshots(db)
    channel.snapshots = snapshots  # after an outage, viewers get the state as it is now
    # app.py imports this module, so its secret_key is reached at call time, not import time.

    notifier = notifier_for(settings, db, secret_key(settings))

    async def show_changed(show: Show) -> None:
        await channel.publish(str(show.id), show_state(show))
        await notifier.show_changed(show)

    lifecycle = ShowLifecycle(db, on_change=show_changed)
    commerce = _commerce(settings, db, channel, redis_client, limiter)
    snapshots.deals_of.append(lambda show_id: live_deals(db, show_id))
    views = ViewRecorder(db)
    services = Services(
        settings=settings,
        db=db,
        broker=broker,
        limiter=limiter,
        channel=channel,
        chat=chat,
        snapshots=snapshots,
        lifecycle=lifecycle,
        streams=ShowStreams(db, lifecycle),
        background=Background(),
        **commerce,
        on_air=OnAir(db, channel),
        imports=CatalogImports(db),
        notifier=notifier,
        views=views,
        sessions=SessionCache(db),
    )
    # An import cut off by a restart can never finish: say so on its page.
    await fail_interrupted_imports(db, started_before=utc_now())
    await notifier.start()
    views.start()
    if with_edge:
        services.edge = LiveEdge(broker, SessionIdentify(db), snapshots, chat, views=views)
        await services.edge.start(settings.host, settings.live_port)
    demo: DemoSource | None = None
    if with_media:
        services.streams.media = media_backend(settings, services.streams, limiter)
        await services.streams.media.start()
        await services.streams.sync()
        services.background.spawn(_keep_streams_in_step(services))
        if settings.demo:
            demo = await start_demo_source(services)
    services.background.spawn(_keep_stock_and_deals_tidy(services))
    try:
        yield services
    finally:
        if demo is not None:
            await demo.stop()
        await services.background.aclose()
        await services.deals.aclose()
        if services.streams.media is not None:
            await services.streams.media.stop()
        await services.imports.aclose()
        await notifier.stop()
        if services.edge is not None:
            await services.edge.stop()
        await views.stop()  # after the edge: its last leaves are written too
        await channel.aclose()
        await broker.stop()
        if redis_client is not None:
            await redis_client.aclose()
        await db.dispose()


def media_config(settings: Settings) -> MediaConfig:
    return MediaConfig(
        ffmpeg=ffmpeg_path(settings.ffmpeg),
        data_dir=settings.data_dir,
        rtmp_host=settings.host,
        rtmp_port=settings.rtmp_port,
        srt_host=settings.host,
        srt_port=settings.srt_port,
        grace_s=settings.stream_grace_s,
        abr_ladder=settings.abr_ladder,
    )


def media_backend(
    settings: Settings, listener: ShowStreams, limiter: RateLimiter | None = None
) -> MediaBackend:
    config = media_config(settings)
    key_attempts = KeyAttempts(limiter, per_minute=settings.stream_key_attempts_per_minute)
    if settings.media_backend == "nginx-rtmp":
        return NginxRtmpBackend(
            listener,
            grace_s=settings.stream_grace_s,
            ffmpeg=config.ffmpeg,
            recordings_dir=settings.data_dir / "recordings",
            data_dir=settings.data_dir,
            key_attempts=key_attempts,
        )
    if settings.media_backend != "embedded":
        raise ValueError(
            f"VITRINE_MEDIA_BACKEND={settings.media_backend!r}: use embedded or nginx-rtmp"
        )
    return EmbeddedBackend(config, listener, key_attempts)


async def _keep_streams_in_step(services: Services) -> None:
    """Shows come within the opening window as time passes; nginx-rtmp needs its tick."""
    media = services.streams.media
    while True:
        await asyncio.sleep(1)
        if isinstance(media, NginxRtmpBackend):
            await media.tick()
        if int(time.monotonic()) % 5 == 0:
            try:
                await services.streams.sync()
            except Exception:
                log.exception("could not bring the media backend in step with the shows")


async def start_demo_source(services: Services) -> DemoSource | None:
    """`make run`: a test pattern with a burnt-in clock and a tone, live on the demo show."""
    settings = services.settings
    show = await demo_show(services.db)
    if show is None or not isinstance(services.streams.media, EmbeddedBackend):
        return None
    font = find_font()
    if font is None:
        log.warning("no font for the demo's burnt-in clock: apt-get install fonts-dejavu-core")
        return None
    await services.streams.sync()
    media = services.streams.media
    url = rtmp_publish_url("127.0.0.1", media.rtmp_port, show.public_name, show.stream_key)
    source = DemoSource(ffmpeg_path(settings.ffmpeg), url, fontfile=font)
    await source.start()
    return source


def _commerce(
    settings: Settings,
    db: Database,
    channel: LiveChannel,
    redis_client: aioredis.Redis | None,
    limiter: RateLimiter,
) -> dict[str, Any]:
    """Buying: one announcer onto the live channel, one gate (Redis when several instances run),
    the test card gateway calling back our own webhook as a real gateway would."""
    announcer = LiveAnnouncer(db, channel)
    buying = BuyingPolicy(settings.buy_platforms)
    hold = timedelta(minutes=settings.reservation_minutes)
    gate: DealGate = (
        RedisDealGate(redis_client, prefix=f"{settings.redis_prefix}deal")
        if redis_client is not None
        else MemoryDealGate()
    )
    webhook_url = f"{settings.base_url}/payments/webhook"

    async def deliver(body: bytes, signature: str) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            await client.post(
                webhook_url,
                content=body,
                headers={"content-type": "application/json", "vitrine-signature": signature},
            )

    provider = TestCardGateway(secret=webhook_secret(settings).encode(), db=db, deliver=deliver)
    return {
        "buying": buying,
        "carts": CartService(db),
        "checkout": CheckoutService(db, announcer, hold=hold, buying=buying, limiter=limiter),
        "payments": PaymentService(db, provider, announcer, buying=buying),
        "orders": OrderService(db, provider, announcer),
        "ledger": LedgerService(db),
        "clicks": ExternalClicks(db),
        "reservations": ReservationService(db, announcer),
        "deals": DealService(db, gate, announcer, hold=hold, buying=buying, limiter=limiter),
        "deal_gate": gate,
        "payment_provider": provider,
    }


def webhook_secret(settings: Settings) -> str:
    """VITRINE_PAYMENT_WEBHOOK_SECRET, or one derived from the instance's secret key."""
    if settings.payment_webhook_secret:
        return settings.payment_webhook_secret

    return hmac.new(secret_key(settings).encode(), b"payment-webhooks", "sha256").hexdigest()


async def _keep_stock_and_deals_tidy(services: Services) -> None:
    """Expired holds go back on the shelf, ended deals close, abandoned orders are cancelled."""
    ticks = 0
    while True:
        await asyncio.sleep(5)
        ticks += 1
        try:
            await services.reservations.release_expired()
            await services.deals.close_ended()
            if ticks % 720 == 0:  # hourly
                await services.orders.cancel_abandoned()
        except Exception:
            log.exception("could not tidy stock and deals")
