"""The one way domains send events to viewers: `LiveChannel.publish`, called after commit.

A committed event is never lost because the broker is briefly away (Redis restarting): it
waits in this process's outbox, in order behind the show's earlier events, and is appended as
soon as the broker answers again; viewers then receive it with the next sequence numbers. The
outbox is bounded: past `outbox_limit` events the oldest are dropped and the show's numbers get
a hole, so every viewer behind it is sent a fresh snapshot instead of silently missing them.
Counts and reaction tallies are not numbered and not held: the next ones supersede them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass

from vitrine.core.broker import Batch, Broker, BrokerUnavailable
from vitrine.live.events import SEQUENCED_EXCEPT, ShowEvent, encode

log = logging.getLogger(__name__)

OUTBOX_LIMIT = 10_000
RETRY_FIRST_S = 0.2
RETRY_MAX_S = 2.0


def show_channel(show_id: str) -> str:
    """The broker channel of a show."""
    return f"show:{show_id}"


@dataclass(frozen=True, slots=True)
class _Held:
    channel: str
    messages: list[bytes]
    batch: Batch


class LiveChannel:
    """Hands events of a show to the broker, which numbers them and fans them out to every edge
    instance. Call it from an on-commit hook, never inside a transaction that may roll back."""

    def __init__(self, broker: Broker, *, outbox_limit: int = OUTBOX_LIMIT) -> None:
        self.broker = broker
        self.published = 0  # events this instance handed to the broker, for /metrics
        self.dropped = 0  # events dropped because the outbox was full, for /metrics
        self.held: deque[_Held] = deque()  # the outbox, oldest first
        self.held_events = 0
        self._limit = outbox_limit
        self._held_per_channel: Counter[str] = Counter()
        self._lost: set[str] = set()  # channels that owe their viewers a hole (and a snapshot)
        self._writer = secrets.token_hex(8)
        self._numbers = itertools.count(1)
        self._locks: dict[str, asyncio.Lock] = {}
        self._deliverer: asyncio.Task[None] | None = None

    async def publish(self, show_id: str, event: ShowEvent) -> int:
        """Send one event; returns its sequence number (0 for tallies and counts, which are
        not numbered, and for an event held until the broker is back)."""
        return await self.publish_many(show_id, (event,))

    async def publish_many(self, show_id: str, events: Sequence[ShowEvent]) -> int:
        """Send events in order in one round trip; returns the last sequence number (0 when
        they wait in the outbox)."""
        channel = show_channel(show_id)
        numbered = [encode(event) for event in events if type(event) not in SEQUENCED_EXCEPT]
        for event in events:
            if type(event) in SEQUENCED_EXCEPT:
                with contextlib.suppress(BrokerUnavailable):  # the next count supersedes it
                    await self.broker.publish(channel, encode(event))
                    self.published += 1
        if not numbered:
            return 0
        async with self._lock(channel):
            batch = Batch(self._writer, next(self._numbers))
            if not self._owes(channel):
                try:
                    seq = await self.broker.append(channel, numbered, batch=batch)
                except BrokerUnavailable as error:
                    if not self.held:
                        log.warning(
                            "live channel: the broker is unavailable (%s); holding events in "
                            "order until it is back",
                            error,
                        )
                else:
                    self.published += len(numbered)
                    return seq
            self._hold(_Held(channel, numbered, batch))
        return 0

    async def aclose(self) -> None:
        """Stop retrying (at shutdown); says how many events were never delivered."""
        if self._deliverer is not None:
            self._deliverer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._deliverer
            self._deliverer = None
        if self.held_events:
            log.error(
                "live channel: stopping with %d events still waiting for the broker",
                self.held_events,
                extra={"outbox_events": self.held_events},
            )

    # -- the outbox ---------------------------------------------------------------------------

    def _lock(self, channel: str) -> asyncio.Lock:
        # One append at a time per show from this process: numbers follow publish order, and
        # batch numbers reach the broker in increasing order (what recognises a retry).
        lock = self._locks.get(channel)
        if lock is None:
            lock = self._locks[channel] = asyncio.Lock()
        return lock

    def _owes(self, channel: str) -> bool:
        """Earlier events of this show are still waiting: later ones queue behind them."""
        return channel in self._lost or self._held_per_channel[channel] > 0

    def _hold(self, held: _Held) -> None:
        self.held.append(held)
        self._held_per_channel[held.channel] += 1
        self.held_events += len(held.messages)
        while self.held_events > self._limit and len(self.held) > 1:
            oldest = self._forget_oldest()
            self._lost.add(oldest.channel)
            self.dropped += len(oldest.messages)
            log.error(
                "live channel: outbox full (%d events); dropped %d of %s, whose viewers will "
                "get a fresh snapshot",
                self._limit,
                len(oldest.messages),
                oldest.channel,
                extra={"outbox_events": self.held_events, "channel": oldest.channel},
            )
        if self._deliverer is None or self._deliverer.done():
            self._deliverer = asyncio.create_task(self._deliver_held(), name="live-outbox")

    def _forget_oldest(self) -> _Held:
        oldest = self.held.popleft()
        self._held_per_channel[oldest.channel] -= 1
        if not self._held_per_channel[oldest.channel]:
            del self._held_per_channel[oldest.channel]
        self.held_events -= len(oldest.messages)
        return oldest

    async def _deliver_held(self) -> None:
        """Append what waits, oldest first, retrying until the broker answers."""
        since = time.monotonic()
        delivered = 0
        pause = RETRY_FIRST_S
        while self.held or self._lost:
            head = self.held[0] if self.held else None
            channel = head.channel if head is not None else next(iter(self._lost))
            try:
                async with self._lock(channel):
                    if channel in self._lost:
                        await self.broker.skip(channel)
                        self._lost.discard(channel)
                    if head is not None:
                        await self.broker.append(channel, head.messages, batch=head.batch)
            except BrokerUnavailable:
                await asyncio.sleep(pause)
                pause = min(pause * 2, RETRY_MAX_S)
                continue
            pause = RETRY_FIRST_S
            if head is not None and self.held and self.held[0] is head:
                self._forget_oldest()
                self.published += len(head.messages)
                delivered += len(head.messages)
        log.warning(
            "live channel: the broker is back; %d held events delivered after %.1f s",
            delivered,
            time.monotonic() - since,
            extra={"outbox_delivered": delivered},
        )
