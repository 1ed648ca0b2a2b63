"""The pin history and the replay's product timeline: each pin placed on the recording by the
wall-clock time of its frames (EXT-X-PROGRAM-DATE-TIME), so a marker lands where the host
really showed the product, even when the stream dropped and came back."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vitrine.catalog.queries import shop_products
from vitrine.chat.models import ChatMessage
from vitrine.core.db import Database
from vitrine.media.argv import REPLAY_PLAYLIST
from vitrine.shows.models import Show
from vitrine.shows.pin_models import ShowPin

MAX_REPLAY_CHAT = 5000


async def record_pin(session: AsyncSession, show_id: int, product_id: int, at: datetime) -> None:
    """Write a pin in the caller's transaction; the pin it replaces ends at the same moment."""
    open_pin = await session.scalar(
        select(ShowPin).where(ShowPin.show_id == show_id, ShowPin.unpinned_at.is_(None))
    )
    if open_pin is not None and open_pin.product_id == product_id:
        return  # pinned again: still the same span on the timeline
    await record_unpin(session, show_id, at)
    session.add(ShowPin(show_id=show_id, product_id=product_id, pinned_at=at))


async def record_unpin(session: AsyncSession, show_id: int, at: datetime) -> None:
    await session.execute(
        update(ShowPin)
        .where(ShowPin.show_id == show_id, ShowPin.unpinned_at.is_(None))
        .values(unpinned_at=at)
    )


@dataclass(frozen=True, slots=True)
class Segment:
    pdt_ms: float  # wall-clock time of the segment's first frame
    start_s: float  # its position in the recording
    duration_s: float


@dataclass(frozen=True, slots=True)
class RecordingClock:
    """Maps a wall-clock moment to a position in the recording."""

    segments: tuple[Segment, ...]
    duration_s: float
    fallback_origin_ms: float | None  # the show's start, when the playlist has no dates

    @property
    def origin_ms(self) -> float | None:
        """Wall-clock time of the recording's first frame."""
        return self.segments[0].pdt_ms if self.segments else self.fallback_origin_ms

    def position_of(self, at_ms: float) -> float:
        """Seconds into the recording where the frame of `at_ms` is (clamped to the video)."""
        if self.segments:
            starts = [segment.pdt_ms for segment in self.segments]
            index = bisect_right(starts, at_ms) - 1
            if index < 0:
                return 0.0
            segment = self.segments[index]
            position = segment.start_s + min((at_ms - segment.pdt_ms) / 1000, segment.duration_s)
        elif self.fallback_origin_ms is not None:
            position = max(0.0, (at_ms - self.fallback_origin_ms) / 1000)
        else:
            return 0.0
        return round(min(position, self.duration_s) if self.duration_s else position, 3)


def recording_clock(playlist: str, *, fallback_origin_ms: float | None) -> RecordingClock:
    """Read the segments' dates from a media playlist; a segment without a date follows the
    previous one, a discontinuity without one cannot be placed and is skipped."""
    segments: list[Segment] = []
    position = 0.0
    next_pdt: float | None = None
    previous_end: float | None = None
    for line in playlist.splitlines():
        if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            next_pdt = datetime.fromisoformat(line.split(":", 1)[1].strip()).timestamp() * 1000
        elif line.startswith("#EXT-X-DISCONTINUITY") and not line.startswith(
            "#EXT-X-DISCONTINUITY-SEQUENCE"
        ):
            previous_end = None
        elif line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",", 1)[0])
            pdt = next_pdt if next_pdt is not None else previous_end
            if pdt is not None:
                segments.append(Segment(pdt, position, duration))
                previous_end = pdt + duration * 1000
            position += duration
            next_pdt = None
    return RecordingClock(tuple(segments), round(position, 3), fallback_origin_ms)


@dataclass(frozen=True, slots=True)
class TimelinePin:
    product_id: int
    title: str
    price_text: str
    image_url: str
    pinned_at_ms: int
    unpinned_at_ms: int
    offset_s: float  # where the marker sits on the recording
    end_s: float


@dataclass(frozen=True, slots=True)
class ReplayLine:
    message_id: int
    author_name: str
    text: str
    sent_at_ms: int


@dataclass(frozen=True, slots=True)
class ReplayTimeline:
    duration_s: float
    origin_ms: float | None
    pins: tuple[TimelinePin, ...]
    chat: tuple[ReplayLine, ...]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def replay_playlist_text(data_dir: Path, show_id: int) -> str:
    path = data_dir / "hls" / str(show_id) / REPLAY_PLAYLIST
    return path.read_text() if path.is_file() else ""


async def replay_timeline(db: Database, show: Show, playlist: str) -> ReplayTimeline:
    """The markers and the chat of an ended show, placed on its recording."""
    started = show.started_at or show.scheduled_start
    clock = recording_clock(playlist, fallback_origin_ms=_ms(started))
    end_ms = _ms(show.ended_at) if show.ended_at else None
    async with db.read() as session:
        rows = (
            await session.scalars(
                select(ShowPin)
                .where(ShowPin.show_id == show.id)
                .order_by(ShowPin.pinned_at, ShowPin.id)
            )
        ).all()
        messages = (
            await session.scalars(
                select(ChatMessage)
                .where(ChatMessage.show_id == show.id, ChatMessage.removed_at.is_(None))
                .order_by(ChatMessage.sent_at, ChatMessage.id)
                .limit(MAX_REPLAY_CHAT)
            )
        ).all()
    items = {
        item.product.id: item
        for item in await shop_products(db, show.merchant_id, show_id=show.id, limit=500)
    }
    pins: list[TimelinePin] = []
    for row in rows:
        item = items.get(row.product_id)
        if item is None:  # taken off the lineup or archived since: nothing to sell
            continue
        pinned_ms = _ms(row.pinned_at)
        unpinned_ms = _ms(row.unpinned_at) if row.unpinned_at else (end_ms or pinned_ms)
        pins.append(
            TimelinePin(
                product_id=row.product_id,
                title=item.product.title,
                price_text=item.price_text,
                image_url=f"/media/{item.thumbnail}" if item.thumbnail else "",
                pinned_at_ms=pinned_ms,
                unpinned_at_ms=unpinned_ms,
                offset_s=clock.position_of(pinned_ms),
                end_s=clock.position_of(unpinned_ms),
            )
        )
    chat = tuple(ReplayLine(m.id, m.author_name, m.text, _ms(m.sent_at)) for m in messages)
    return ReplayTimeline(clock.duration_s, clock.origin_ms, tuple(pins), chat)
