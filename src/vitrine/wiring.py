"""Builds the running parts from settings, in dependency order, and takes them down again."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

from vitrine.catalog.csv_import import CatalogImports, fail_interrupted_imports
from vitrine.chat.service import ChatService
from vitrine.config import Settings
from vitrine.core.broker import broker_from_url
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.core.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from vitrine.live.channel import LiveChannel
from vitrine.live.edge import LiveEdge
from vitrine.shows.live_state import ShowLifecycle
from vitrine.shows.models import Show
from vitrine.shows.on_air import OnAir
from vitrine.shows.snapshot import ShowSnapshots, show_state
from vitrine.web.live_identify import SessionIdentify
from vitrine.web.services import Services

log = logging.getLogger(__name__)


@asynccontextmanager
async def running(settings: Settings, *, with_edge: bool = True) -> AsyncIterator[Services]:
    """Everything an instance runs: storage, broker, live channel and edge, domain services."""
    db = Database(settings.database)
    broker = broker_from_url(settings.redis_url)
    await broker.start()
    redis_client = aioredis.Redis.from_url(settings.redis_url) if settings.redis_url else None
    limiter: RateLimiter = RedisRateLimiter(redis_client) if redis_client else MemoryRateLimiter()
    channel = LiveChannel(broker)
    chat = ChatService(db, channel, limiter)
    snapshots = ShowSnapshots(db, chat)

    async def show_changed(show: Show) -> None:
        await channel.publish(str(show.id), show_state(show))

    services = Services(
        settings=settings,
        db=db,
        broker=broker,
        limiter=limiter,
        channel=channel,
        chat=chat,
        snapshots=snapshots,
        lifecycle=ShowLifecycle(db, on_change=show_changed),
        on_air=OnAir(db, channel),
        imports=CatalogImports(db),
    )
    # An import cut off by a restart can never finish: say so on its page.
    await fail_interrupted_imports(db, started_before=utc_now())
    if with_edge:
        services.edge = LiveEdge(broker, SessionIdentify(db), snapshots, chat)
        await services.edge.start(settings.host, settings.live_port)
    try:
        yield services
    finally:
        await services.imports.aclose()
        if services.edge is not None:
            await services.edge.stop()
        await broker.stop()
        if redis_client is not None:
            await redis_client.aclose()
        await db.dispose()
