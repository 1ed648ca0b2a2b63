"""Publish/subscribe between the parts of Vitrine: in-process by default, Redis when several
instances run. Shaped after encode/broadcaster: pick the backend from a URL, each subscriber
gets a bounded queue so one slow consumer never blocks a publisher."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

log = logging.getLogger(__name__)

SUBSCRIBER_QUEUE = 10_000


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[bytes]: ...


class Broker(Protocol):
    """Channels carry opaque bytes; `live.events` defines what is inside."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, channel: str, message: bytes) -> None: ...
    def subscribe(self, channel: str) -> AbstractSubscribe: ...
    async def healthy(self) -> bool: ...


class AbstractSubscribe(Protocol):
    async def __aenter__(self) -> AsyncIterator[bytes]: ...
    async def __aexit__(self, *exc: object) -> None: ...


class MemoryBroker:
    """Delivers within this process only: the embedded default."""

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[bytes]]] = {}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._queues.clear()

    async def healthy(self) -> bool:
        return True

    async def publish(self, channel: str, message: bytes) -> None:
        for queue in tuple(self._queues.get(channel, ())):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                log.warning(
                    "subscriber of %s is %d messages behind; dropping", channel, queue.qsize()
                )

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[bytes]]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self._queues.setdefault(channel, set()).add(queue)
        try:
            yield _drain(queue)
        finally:
            subscribers = self._queues.get(channel)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._queues[channel]


async def _drain(queue: asyncio.Queue[bytes]) -> AsyncIterator[bytes]:
    while True:
        yield await queue.get()
