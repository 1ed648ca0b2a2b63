"""A show as one edge instance serves it: the viewers connected here, the recent events for
resume, and the frame of the current tick.

Events arrive from the broker numbered; the room keeps them in order (fetching any gap from the
broker's log), batches a tick's worth into one frame and writes the same bytes to every viewer.
The first event after a quiet spell leaves at once; later ones wait for the next tick, so a
viewer gets at most 1/tick frames per second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import msgspec

from vitrine.core.broker import RESYNC, Broker, BrokerUnavailable, Envelope
from vitrine.live.channel import show_channel
from vitrine.live.connection import ViewerConnection
from vitrine.live.events import (
    Heartbeat,
    ReactionsTally,
    ViewerCount,
    Welcome,
    encode,
    supersede_key,
)
from vitrine.live.fanout import FanOut
from vitrine.live.frames import batch_frame, single_frame, with_seq
from vitrine.live.protocols import SnapshotSource

log = logging.getLogger(__name__)

_tally_decoder = msgspec.json.Decoder(ReactionsTally)


def _default_writer_threads() -> int:
    # One per core, up to 4: past that the threads mostly wait for the GIL between writes.
    return max(1, min(os.cpu_count() or 1, 4))


@dataclass(frozen=True, slots=True)
class EdgeSettings:
    """Limits of the live edge; the defaults suit a phone audience of one show per process."""

    tick_s: float = 0.1
    heartbeat_s: float = 15.0
    silence_timeout_s: float = 60.0
    ring_size: int = 1024
    resume_limit: int = 2048
    high_water: int = 64 * 1024
    low_water: int = 16 * 1024
    max_backlog: int = 256
    max_message_bytes: int = 4096
    max_frame_bytes: int = 65536
    flood_burst: int = 20
    flood_rate_per_s: float = 5.0
    flood_close_after: int = 100
    hello_timeout_s: float = 10.0
    viewer_count_interval_s: float = 1.0
    room_linger_s: float = 30.0
    snapshot_cache_s: float = 1.0
    # Threads writing each frame to a show's viewers (1: the event loop alone), used for
    # rooms of at least `threaded_write_from` viewers: waking a thread costs more than it
    # saves on a few sockets.
    writer_threads: int = field(default_factory=_default_writer_threads)
    threaded_write_from: int = 256


class ShowRoom:
    """The viewers of one show on this instance and the event stream they share."""

    def __init__(
        self,
        show_id: str,
        broker: Broker,
        snapshots: SnapshotSource,
        settings: EdgeSettings,
        fanout: FanOut,
    ) -> None:
        self.show_id = show_id
        self.fanout = fanout
        self.channel = show_channel(show_id)
        self.broker = broker
        self.snapshots = snapshots
        self.settings = settings
        self.live: set[ViewerConnection] = set()
        self.lagging: set[ViewerConnection] = set()
        self.last = 0
        self.ring: deque[tuple[int, bytes]] = deque(maxlen=settings.ring_size)
        # (seq, event bytes, frame part) of the current tick; seq 0 for unnumbered events.
        self.pending: list[tuple[int, bytes, bytes]] = []
        self.tally: dict[str, int] = {}
        self.taps: dict[str, int] = {}
        self.viewer_count = 0
        self.delivered = 0  # events written to viewers here (event x viewer), for /metrics
        self.empty_since = time.monotonic()
        self.joining = 0
        self.ready = asyncio.Event()
        self._flush_handle: asyncio.Handle | None = None
        self._last_flush = 0.0
        self._catching_up = False
        self._held: list[Envelope] = []
        self._snapshot_cache: tuple[int, float, bytes] | None = None
        # (seq, the build under way for it): joiners arriving meanwhile wait for this one.
        self._snapshot_building: tuple[int, asyncio.Task[tuple[bytes, int]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name=f"live-room-{self.show_id}")

    async def stop(self) -> None:
        building = self._snapshot_building[1] if self._snapshot_building else None
        for task in (self._task, building, *self._background):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._flush_handle is not None:
            self._flush_handle.cancel()

    @property
    def size(self) -> int:
        """Connections here, counting those still joining (so the room is not closed under
        them)."""
        return len(self.live) + len(self.lagging) + self.joining

    async def _listen(self) -> None:
        while True:
            try:
                async with self.broker.subscribe(self.channel) as batches:
                    # Subscribe first, then read the counter: nothing falls in between.
                    self.last = max(self.last, await self.broker.last_seq(self.channel))
                    self.ready.set()
                    async for batch in batches:
                        self.receive(batch)
            except BrokerUnavailable:
                log.warning("live room %s: broker unavailable, retrying", self.show_id)
                await asyncio.sleep(1.0)
            except Exception:
                # Keep serving the show: the next event or heartbeat catches up from the log.
                log.exception("live room %s: failed on an event", self.show_id)
                await asyncio.sleep(1.0)

    # -- events in ----------------------------------------------------------------------------

    def receive(self, batch: list[Envelope]) -> None:
        """Take envelopes from the broker in order; a gap starts a catch-up from the log."""
        for envelope in batch:
            if self._catching_up:
                self._held.append(envelope)
            elif envelope.seq == RESYNC:
                self.catch_up()
            elif envelope.seq == 0:
                self._take_unnumbered(envelope.data)
            elif envelope.seq <= self.last:
                continue
            elif envelope.seq != self.last + 1:
                self._held.append(envelope)
                self.catch_up()
            else:
                self._take(envelope.seq, envelope.data)
        self._schedule_flush()

    def catch_up(self) -> None:
        """Fetch from the broker's log whatever this room has not received."""
        if self._catching_up:
            return
        self._catching_up = True
        self._spawn(self._catch_up())

    async def _catch_up(self) -> None:
        try:
            while True:
                try:
                    missed = await self.broker.since(
                        self.channel, self.last, self.settings.resume_limit
                    )
                except BrokerUnavailable:
                    await asyncio.sleep(1.0)
                    continue
                if missed is None:
                    await self._reset()
                else:
                    for envelope in missed:
                        if envelope.seq > self.last:
                            self._take(envelope.seq, envelope.data)
                held, self._held = self._held, []
                gap = False
                for envelope in held:
                    if envelope.seq == 0:
                        self._take_unnumbered(envelope.data)
                    elif envelope.seq == self.last + 1:
                        self._take(envelope.seq, envelope.data)
                    elif envelope.seq == RESYNC or envelope.seq > self.last:
                        gap = True
                if not gap and not self._held:
                    break
        finally:
            self._catching_up = False
            self._schedule_flush()

    async def _reset(self) -> None:
        """Too far behind to catch up event by event: send every viewer a fresh snapshot."""
        if await self.broker.last_seq(self.channel) < self.last:
            # The broker lost numbers we handed out (Redis restored from an older save):
            # never reuse them, or a resuming viewer would skip the new events behind them.
            await self.broker.advance(self.channel, self.last)
        snapshot, seq = await self._snapshot_frame(fresh=True)
        frame = batch_frame([snapshot])
        self.last = seq
        self.ring.clear()
        self.pending.clear()
        for connection in self.lagging:
            connection.backlog.clear()
        self.fanout.write((*self.live, *self.lagging), frame, high_water=None)

    def _take(self, seq: int, data: bytes) -> None:
        part = with_seq(seq, data)
        self.last = seq
        self.ring.append((seq, part))
        self.pending.append((seq, data, part))
        if data.startswith(b'{"type":"snapshot"'):
            # A snapshot in the log (sent after an outage) has the audience as it was read
            # then: follow it with this room's count.
            count = encode(ViewerCount(count=self.viewer_count))
            self.pending.append((0, count, count))

    def _take_unnumbered(self, data: bytes) -> None:
        if data.startswith(b'{"type":"reactions"'):
            # Partial tallies from every instance's tick are summed into this room's next one.
            for emoji, count in _tally_decoder.decode(data).counts.items():
                self.tally[emoji] = self.tally.get(emoji, 0) + count
        else:
            self.pending.append((0, data, data))

    def tap(self, emoji: str) -> None:
        """A viewer here tapped a reaction; published with this tick's others by the edge."""
        self.taps[emoji] = self.taps.get(emoji, 0) + 1

    def take_taps(self) -> dict[str, int]:
        taps, self.taps = self.taps, {}
        return taps

    def set_viewer_count(self, count: int) -> None:
        """The audience summed over every instance; sent when it changes."""
        if count != self.viewer_count:
            self.viewer_count = count
            data = encode(ViewerCount(count=count))
            self.pending.append((0, data, data))
            self._schedule_flush()

    # -- frames out ---------------------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if self._flush_handle is not None or not (self.pending or self.tally):
            return
        loop = asyncio.get_running_loop()
        delay = self._last_flush + self.settings.tick_s - loop.time()
        if delay > 0:
            self._flush_handle = loop.call_later(delay, self.flush)
        else:
            self._flush_handle = loop.call_soon(self.flush)

    def flush(self) -> None:
        """Build this tick's frame once and write the same bytes to every viewer here."""
        self._flush_handle = None
        self._last_flush = asyncio.get_running_loop().time()
        if self.tally:
            data = encode(ReactionsTally(counts=self.tally))
            self.tally = {}
            self.pending.append((0, data, data))
        pending, self.pending = self.pending, []
        if not pending:
            return
        frame = batch_frame([part for _, _, part in pending])
        stalled = self.fanout.write(self.live, frame, self.settings.high_water)
        for connection in stalled:
            self.live.discard(connection)
            self.lagging.add(connection)
        self.delivered += len(pending) * len(self.live)
        for connection in tuple(self.lagging):
            self._add_to_backlog(connection, pending)
        self.drain_lagging()

    def _add_to_backlog(
        self, connection: ViewerConnection, pending: list[tuple[int, bytes, bytes]]
    ) -> None:
        backlog = connection.backlog
        for seq, data, _ in pending:
            key: Any = supersede_key(data) or seq
            backlog.pop(key, None)  # re-inserted at the end: the latest state goes last
            backlog[key] = (seq, data)
        if len(backlog) > self.settings.max_backlog:
            log.info("live %s: dropping a viewer %d events behind", self.show_id, len(backlog))
            self.lagging.discard(connection)
            connection.drop()

    def drain_lagging(self) -> None:
        """Viewers whose socket drained get their backlog, superseded state already skipped."""
        low = self.settings.low_water
        for connection in tuple(self.lagging):
            if not connection.is_open:
                self.lagging.discard(connection)
            elif connection.buffered() <= low:
                parts = [with_seq(s, d) if s else d for s, d in connection.backlog.values()]
                connection.backlog.clear()
                if parts:
                    connection.write(batch_frame(parts))
                self.lagging.discard(connection)
                self.live.add(connection)

    def heartbeat(self) -> None:
        """Tell every viewer the latest seq; drop connections silent for too long."""
        deadline = time.monotonic() - self.settings.silence_timeout_s
        for connection in tuple(self.live):
            if connection.last_heard < deadline:
                self.live.discard(connection)
                connection.drop()
        frame = single_frame(Heartbeat(latest_seq=self.last))
        self.fanout.write(self.live, frame, high_water=None)
        self.drain_lagging()

    # -- joining --------------------------------------------------------------------------------

    async def join(
        self, connection: ViewerConnection, last_seq: int | None, heartbeat_s: float
    ) -> bool:
        """Bring a connection up to date (resume from `last_seq`, else a snapshot), then add it
        to the live set. Returns True when it resumed without a snapshot."""
        self.joining += 1
        self.empty_since = 0.0
        try:
            return await self._join(connection, last_seq, heartbeat_s)
        finally:
            self.joining -= 1
            if not self.size:
                self.empty_since = time.monotonic()

    async def _join(
        self, connection: ViewerConnection, last_seq: int | None, heartbeat_s: float
    ) -> bool:
        try:
            async with asyncio.timeout(10):
                await self.ready.wait()
        except TimeoutError:
            raise BrokerUnavailable("the live channel is not subscribed yet") from None
        parts: list[bytes] | None = None
        if last_seq is not None:
            parts = await self._missed_since(last_seq)
        resumed = parts is not None
        if parts is None:
            parts = await self._snapshot_and_tail()
        welcome = Welcome(
            show_id=self.show_id,
            viewer=connection.viewer,
            latest_seq=self.last,
            resumed=resumed,
            heartbeat_s=heartbeat_s,
        )
        # No await from here on: the parts reach up to self.last and the live set takes over.
        connection.write(batch_frame([encode(welcome), *parts]))
        self.live.add(connection)
        return resumed

    def leave(self, connection: ViewerConnection) -> None:
        self.live.discard(connection)
        self.lagging.discard(connection)
        if not self.size:
            self.empty_since = time.monotonic()

    def _ring_since(self, after: int) -> list[bytes] | None:
        if after >= self.last:
            return []
        if not self.ring or self.ring[0][0] > after + 1:
            return None
        # The ring holds consecutive numbers, so the position follows from the first one.
        start = after + 1 - self.ring[0][0]
        return [part for _, part in list(self.ring)[start:]]

    async def _missed_since(self, after: int) -> list[bytes] | None:
        if after > self.last:
            # The client saw numbers this room has not: the broker lost its log, or the
            # client is from another life of this show. Ask the broker what it knows.
            return None if after > await self.broker.last_seq(self.channel) else []
        local = self._ring_since(after)
        if local is not None:
            return local
        fetched = await self.broker.since(self.channel, after, self.settings.resume_limit)
        if fetched is None:
            return None
        upto = fetched[-1].seq if fetched else after
        tail = self._ring_since(upto)
        if tail is None:
            return None
        return [with_seq(seq, data) for seq, data in fetched if seq <= self.last] + tail

    async def _snapshot_and_tail(self) -> list[bytes]:
        for _ in range(3):
            snapshot, seq = await self._snapshot_frame(fresh=False)
            tail = self._ring_since(seq)
            if tail is not None:
                return [snapshot, *tail]
        raise BrokerUnavailable("show is changing too fast to take a snapshot")

    async def _snapshot_frame(self, *, fresh: bool) -> tuple[bytes, int]:
        """The snapshot as one encoded event, and the seq it is consistent with. A crowd
        arriving at once shares one build, and the result is kept for a moment, so it costs
        the domain one query, not thousands."""
        if fresh:
            return await self._build_snapshot(fresh=True)
        cached = self._snapshot_cache
        if (
            cached is not None
            and cached[0] == self.last
            and time.monotonic() - cached[1] < self.settings.snapshot_cache_s
        ):
            return cached[2], cached[0]
        building = self._snapshot_building
        if building is None or building[0] != self.last:
            # A task of its own: a joiner that leaves does not cancel the others' snapshot.
            task = asyncio.create_task(self._build_snapshot(fresh=False))
            task.add_done_callback(self._snapshot_built)
            building = self._snapshot_building = (self.last, task)
        return await asyncio.shield(building[1])

    def _snapshot_built(self, task: asyncio.Task[tuple[bytes, int]]) -> None:
        if self._snapshot_building is not None and self._snapshot_building[1] is task:
            self._snapshot_building = None
        if not task.cancelled():
            task.exception()  # retrieved: every joiner waiting on it has been told

    async def _build_snapshot(self, *, fresh: bool) -> tuple[bytes, int]:
        now = time.monotonic()
        # Read the number before the state: everything up to it is committed and in the state.
        seq = await self.broker.last_seq(self.channel) if fresh else self.last
        snapshot = await self.snapshots.snapshot(self.show_id)
        data = encode(msgspec.structs.replace(snapshot, seq=seq, viewer_count=self.viewer_count))
        self._snapshot_cache = (seq, now, data)
        return data, seq

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
