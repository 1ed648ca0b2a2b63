"""Records what viewers do during a show without slowing the live path: the edge calls the
recorder synchronously (a dict update), and a background task writes each second's events in
one transaction: the raw view log in one INSERT, and the per-minute, per-viewer and
per-product rollups as upserts of a handful of rows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from vitrine.analytics.models import (
    JOIN,
    LEAVE,
    ShowMinute,
    ShowProductClicks,
    ShowViewer,
    ViewEvent,
    table_of,
)
from vitrine.core.db import Database

log = logging.getLogger(__name__)

# Past this many unwritten events (the database is down) the oldest raw events are dropped;
# the rollups are kept, they are small.
MAX_BUFFERED_EVENTS = 200_000


@dataclass(slots=True)
class MinuteDelta:
    joins: int = 0
    leaves: int = 0
    peak: int = 0
    watch_s: int = 0
    reactions: int = 0


@dataclass(slots=True)
class Batch:
    """What has happened since the last write."""

    events: list[tuple[int, str, int, float, int]] = field(default_factory=list)
    minutes: dict[tuple[int, int], MinuteDelta] = field(default_factory=dict)
    # Each viewer who joined in this batch, with the time of their first join in it.
    viewers: dict[tuple[int, str], float] = field(default_factory=dict)
    clicks: dict[tuple[int, int], int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.events or self.minutes or self.viewers or self.clicks)

    def minute(self, show_id: int, at: float) -> MinuteDelta:
        key = (show_id, int(at // 60))
        delta = self.minutes.get(key)
        if delta is None:
            delta = self.minutes[key] = MinuteDelta()
        return delta

    def absorb(self, older: Batch) -> None:
        """Put back a batch that could not be written, in front of this one."""
        self.events[:0] = older.events[-MAX_BUFFERED_EVENTS:]
        for key, old in older.minutes.items():
            delta = self.minutes.setdefault(key, MinuteDelta())
            delta.joins += old.joins
            delta.leaves += old.leaves
            delta.peak = max(delta.peak, old.peak)
            delta.watch_s += old.watch_s
            delta.reactions += old.reactions
        for viewer, at in older.viewers.items():
            self.viewers[viewer] = min(at, self.viewers.get(viewer, at))
        for product, count in older.clicks.items():
            self.clicks[product] = self.clicks.get(product, 0) + count


def show_number(show_id: str | int) -> int | None:
    """The edge names shows by the text of their id; anything else is not a show we count."""
    if isinstance(show_id, int):
        return show_id
    return int(show_id) if show_id.isdigit() and len(show_id) < 12 else None


class ViewRecorder:
    """Implements the live edge's view hook. Also takes product clicks from the show page."""

    def __init__(self, db: Database, *, flush_s: float = 1.0) -> None:
        self.db = db
        self.flush_s = flush_s
        self.batch = Batch()
        self.audience: dict[int, int] = {}
        self._open: dict[tuple[int, str], list[float]] = {}
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.known_shows: set[int] = set()  # shows a click was accepted for (they exist)

    # -- the hot path: no I/O, no await -----------------------------------------------------

    def viewer_joined(self, show_id: str, viewer: str, at: float) -> None:
        show = show_number(show_id)
        if show is None:
            return
        audience = self.audience[show] = self.audience.get(show, 0) + 1
        self._open.setdefault((show, viewer), []).append(at)
        delta = self.batch.minute(show, at)
        delta.joins += 1
        delta.peak = max(delta.peak, audience)
        self.batch.viewers.setdefault((show, viewer), at)
        self._log(show, viewer, JOIN, at, 0)

    def viewer_left(self, show_id: str, viewer: str, at: float) -> None:
        show = show_number(show_id)
        if show is None:
            return
        starts = self._open.get((show, viewer))
        if not starts:
            return  # a leave without its join (recorder restarted): nothing to measure
        started = starts.pop(0)
        if not starts:
            del self._open[(show, viewer)]
        self.audience[show] = max(0, self.audience.get(show, 0) - 1)
        watch_s = max(0, round(at - started))
        delta = self.batch.minute(show, at)
        delta.leaves += 1
        delta.watch_s += watch_s
        self._log(show, viewer, LEAVE, at, watch_s)

    def reactions(
        self, show_id: str, counts: Mapping[str, int], *, at: float | None = None
    ) -> None:
        show = show_number(show_id)
        if show is not None:
            when = time.time() if at is None else at
            self.batch.minute(show, when).reactions += sum(counts.values())

    def product_clicked(self, show_id: int, product_id: int, *, at: float | None = None) -> None:
        key = (show_id, product_id)
        self.batch.clicks[key] = self.batch.clicks.get(key, 0) + 1

    def watching(self, show_id: int) -> int:
        """Viewers connected to this show on this instance right now."""
        return self.audience.get(show_id, 0)

    def _log(self, show: int, viewer: str, kind: int, at: float, watch_s: int) -> None:
        events = self.batch.events
        if len(events) >= MAX_BUFFERED_EVENTS:
            del events[: len(events) // 10]
        events.append((show, viewer, kind, at, watch_s))  # made into rows when written

    # -- writing ------------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._every_second(), name="analytics-recorder")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()

    async def _every_second(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            try:
                await self.flush()
            except Exception:
                log.exception("analytics: could not write the last second's events; kept")

    async def flush(self) -> None:
        """Write what was recorded since the last flush: one transaction, one statement per
        table. On failure the batch is kept for the next try."""
        async with self._lock:
            batch, self.batch = self.batch, Batch()
            if not batch:
                return
            try:
                await write_batch(self.db, batch)
            except IntegrityError:
                # A show deleted meanwhile: retrying would fail forever, so this second goes.
                log.warning("analytics: dropped a batch of %d events", len(batch.events))
            except BaseException:
                self.batch.absorb(batch)
                raise


async def write_batch(db: Database, batch: Batch) -> None:
    dialect: Any = sqlite if db.sqlite else postgresql
    greatest = func.max if db.sqlite else func.greatest
    firsts: dict[tuple[int, int], int] = {}  # new viewers per (show, minute), this try only
    async with db.write() as tx:
        session = tx.session
        if batch.viewers:
            # First visits only come back from the insert: they are the new unique viewers.
            viewers = table_of(ShowViewer)
            stmt = (
                dialect.insert(viewers)
                .on_conflict_do_nothing()
                .returning(viewers.c.show_id, viewers.c.viewer_key)
            )
            result = await session.execute(
                stmt, [{"show_id": s, "viewer_key": v} for s, v in sorted(batch.viewers)]
            )
            for show, key in result.all():
                minute = (show, int(batch.viewers[(show, key)] // 60))
                firsts[minute] = firsts.get(minute, 0) + 1
        if batch.events:
            await session.execute(
                table_of(ViewEvent).insert(),
                [
                    {
                        "show_id": show,
                        "viewer_key": viewer,
                        "kind": kind,
                        "at": datetime.fromtimestamp(at, UTC),
                        "watch_s": watch_s,
                    }
                    for show, viewer, kind, at, watch_s in batch.events
                ],
            )
        minutes = {
            key: batch.minutes.get(key) or MinuteDelta() for key in (*batch.minutes, *firsts)
        }
        if minutes:
            table = table_of(ShowMinute)
            stmt = dialect.insert(table)
            ex = stmt.excluded
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["show_id", "minute"],
                    set_={
                        "joins": table.c.joins + ex.joins,
                        "leaves": table.c.leaves + ex.leaves,
                        "peak": greatest(table.c.peak, ex.peak),
                        "watch_s": table.c.watch_s + ex.watch_s,
                        "reactions": table.c.reactions + ex.reactions,
                        "new_viewers": table.c.new_viewers + ex.new_viewers,
                    },
                ),
                [
                    {
                        "show_id": show,
                        "minute": minute,
                        "joins": d.joins,
                        "leaves": d.leaves,
                        "peak": d.peak,
                        "watch_s": d.watch_s,
                        "reactions": d.reactions,
                        "new_viewers": firsts.get((show, minute), 0),
                    }
                    for (show, minute), d in sorted(minutes.items())
                ],
            )
        if batch.clicks:
            table = table_of(ShowProductClicks)
            stmt = dialect.insert(table)
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["show_id", "product_id"],
                    set_={"clicks": table.c.clicks + stmt.excluded.clicks},
                ),
                [
                    {"show_id": s, "product_id": p, "clicks": n}
                    for (s, p), n in sorted(batch.clicks.items())
                ],
            )
