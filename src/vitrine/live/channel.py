"""The one way domains send events to viewers: `LiveChannel.publish`, called after commit.

A committed event is never lost because the broker is briefly away (Redis restarting): it
waits in this process's outbox, in order behind the show's earlier events, and is appended as
soon as the broker answers again; viewers then receive it with the next sequence numbers.
Other instances held their own events meanwhile and deliver them independently, in an order
nobody knows, so once a show's held events are out this instance also appends a fresh snapshot
of the show, read from the database: whatever the order, the screen ends on what the database
says (the last pin, the units left). The outbox is bounded: past `outbox_limit` events the
oldest are dropped, and that snapshot carries their effect. Counts and reaction tallies are
not numbered and not held: the next ones supersede them.
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

import msgspec

from vitrine.core.broker import Batch, Broker, BrokerUnavailable
from vitrine.core.errors import Unavailable
from vitrine.live.events import SEQUENCED_EXCEPT, ShowEvent, ShowSnapshot, encode
from vitrine.live.protocols import SnapshotSource

log = logging.getLogger(__name__)

OUTBOX_LIMIT = 10_000
RETRY_FIRST_S = 0.2
RETRY_MAX_S = 2.0


def show_channel(show_id: str) -> str:
    """The broker channel of a show."""
    return f"show:{show_id}"


def audience_key(show_id: str) -> str:
    """Where the edges sum a show's viewers (`Broker.report_count`)."""
    return f"viewers:{show_id}"


@dataclass(frozen=True, slots=True)
class _Held:
    show_id: str
    messages: list[bytes]
    batch: Batch


class LiveChannel:
    """Hands events of a show to the broker, which numbers them and fans them out to every edge
    instance. Call it from an on-commit hook, never inside a transaction that may roll back.
    `snapshots` (set by the app) provides the fresh snapshot appended after an outage."""

    def __init__(
        self,
        broker: Broker,
        *,
        snapshots: SnapshotSource | None = None,
        outbox_limit: int = OUTBOX_LIMIT,
    ) -> None:
        self.broker = broker
        self.snapshots = snapshots
        self.published = 0  # events this instance handed to the broker, for /metrics
        self.dropped = 0  # events dropped because the outbox was full, for /metrics
        self.held: deque[_Held] = deque()  # the outbox, oldest first
        self.held_events = 0
        self._limit = outbox_limit
        self._held_per_show: Counter[str] = Counter()
        self._to_refresh: set[str] = set()  # shows owed a fresh snapshot once their events are out
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
        async with self._lock(show_id):
            batch = Batch(self._writer, next(self._numbers))
            if not self._owes(show_id):
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
            self._hold(_Held(show_id, numbered, batch))
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

    def _lock(self, show_id: str) -> asyncio.Lock:
        # One append at a time per show from this process: numbers follow publish order, and
        # batch numbers reach the broker in increasing order (what recognises a retry).
        lock = self._locks.get(show_id)
        if lock is None:
            lock = self._locks[show_id] = asyncio.Lock()
        return lock

    def _owes(self, show_id: str) -> bool:
        """Earlier events of this show are still waiting: later ones queue behind them."""
        return show_id in self._to_refresh or self._held_per_show[show_id] > 0

    def _hold(self, held: _Held) -> None:
        self.held.append(held)
        self._held_per_show[held.show_id] += 1
        self._to_refresh.add(held.show_id)
        self.held_events += len(held.messages)
        while self.held_events > self._limit and len(self.held) > 1:
            oldest = self._forget_oldest()
            self.dropped += len(oldest.messages)
            log.error(
                "live channel: outbox full (%d events); dropped %d of show %s, whose viewers "
                "get a fresh snapshot instead",
                self._limit,
                len(oldest.messages),
                oldest.show_id,
                extra={"outbox_events": self.held_events, "show_id": oldest.show_id},
            )
        if self._deliverer is None or self._deliverer.done():
            self._deliverer = asyncio.create_task(self._deliver_held(), name="live-outbox")

    def _forget_oldest(self) -> _Held:
        oldest = self.held.popleft()
        self._held_per_show[oldest.show_id] -= 1
        if not self._held_per_show[oldest.show_id]:
            del self._held_per_show[oldest.show_id]
        self.held_events -= len(oldest.messages)
        return oldest

    async def _deliver_held(self) -> None:
        """Append what waits, oldest first, then a fresh snapshot of each show it was for,
        retrying while the broker (or the database, for a snapshot) is unavailable."""
        since = time.monotonic()
        delivered = 0
        pause = RETRY_FIRST_S
        while self.held or self._to_refresh:
            try:
                if self.held:
                    delivered += await self._append_oldest()
                else:
                    await self._refresh(next(iter(self._to_refresh)))
            except (BrokerUnavailable, Unavailable):
                await asyncio.sleep(pause)
                pause = min(pause * 2, RETRY_MAX_S)
                continue
            pause = RETRY_FIRST_S
        log.warning(
            "live channel: the broker is back; %d held events delivered after %.1f s",
            delivered,
            time.monotonic() - since,
            extra={"outbox_delivered": delivered},
        )

    async def _append_oldest(self) -> int:
        """Append the oldest held batch; how many events reached the broker."""
        head = self.held[0]
        delivered = len(head.messages)
        try:
            async with self._lock(head.show_id):
                channel = show_channel(head.show_id)
                await self.broker.append(channel, head.messages, batch=head.batch)
        except (BrokerUnavailable, Unavailable):
            raise
        except Exception:  # never wedge every show's events behind one that cannot go
            log.exception("live channel: dropping held events of show %s", head.show_id)
            self.dropped += delivered
            delivered = 0
        if self.held and self.held[0] is head:  # not dropped meanwhile by a full outbox
            self._forget_oldest()
        self.published += delivered
        return delivered

    async def _refresh(self, show_id: str) -> None:
        """Once a show's held events are out: its current state, as the next numbered event."""
        try:
            if self.snapshots is not None:
                snapshot = await self.snapshots.snapshot(show_id)
                # Reporting nobody from here returns the audience the edges reported.
                viewers = await self.broker.report_count(audience_key(show_id), "", 0, 1.0)
                snapshot = msgspec.structs.replace(snapshot, viewer_count=viewers)
                async with self._lock(show_id):
                    batch = Batch(self._writer, next(self._numbers))
                    await self.broker.append(
                        show_channel(show_id), [_numbered(snapshot)], batch=batch
                    )
                self.published += 1
        except (BrokerUnavailable, Unavailable):
            raise
        except Exception:  # the show is gone, or a bug: its viewers keep what they have
            log.exception("live channel: could not send show %s a fresh snapshot", show_id)
        self._to_refresh.discard(show_id)


def _numbered(snapshot: ShowSnapshot) -> bytes:
    """A snapshot to append to the log: without its own `seq`, which the edge puts in front of
    every numbered event (the snapshot is then consistent with everything before it)."""
    data = encode(msgspec.structs.replace(snapshot, seq=0))
    tail = b',"seq":0}'
    assert data.endswith(tail), "ShowSnapshot.seq must stay its last field"
    return data[: -len(tail)] + b"}"
