"""The shows side of live video: keeps the media backend's open shows in step with the
database, and turns what the backend reports (stream arrived, dropped, refused, health) into
show state and into what the studio displays."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import or_, select

from vitrine.accounts.models import Merchant, MerchantStatus
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.media.model import (
    REFUSAL_MESSAGES,
    MediaBackend,
    Recording,
    Refusal,
    ShowStream,
    SimulcastTarget,
    StopReason,
    StreamHealth,
)
from vitrine.shows.live_state import ShowLifecycle
from vitrine.shows.models import Show, ShowStatus, SimulcastDestination

log = logging.getLogger(__name__)

# A host can connect and check the picture from this long before the scheduled start.
OPEN_BEFORE = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class StudioNotice:
    """The last thing the studio should tell the host about the stream."""

    message: str
    level: str  # "error" | "warning" | "info"
    at: float


@dataclass
class ShowStreams:
    db: Database
    lifecycle: ShowLifecycle
    media: MediaBackend | None = None
    opened: dict[int, tuple[str, str, tuple[SimulcastTarget, ...]]] = field(default_factory=dict)
    health: dict[int, StreamHealth] = field(default_factory=dict)
    notices: dict[int, StudioNotice] = field(default_factory=dict)

    # -- StreamListener: what the media backend reports -------------------------------------

    async def stream_started(self, show_id: int, *, resumed: bool) -> None:
        self.notices[show_id] = StudioNotice(
            "Your stream is back." if resumed else "Your stream is arriving.", "info", time.time()
        )
        await self.lifecycle.stream_arrived(show_id)

    async def stream_interrupted(self, show_id: int) -> None:
        self.notices[show_id] = StudioNotice(
            "Your stream dropped. Viewers see “reconnecting” while your encoder reconnects.",
            "warning",
            time.time(),
        )
        await self.lifecycle.stream_lost(show_id)

    async def stream_stopped(self, show_id: int, reason: StopReason) -> None:
        self.health.pop(show_id, None)
        if reason is StopReason.GRACE_EXPIRED:
            self.notices[show_id] = StudioNotice(
                "No video for a while: viewers are told you are offline. Restart your encoder "
                "to continue, or end the show.",
                "error",
                time.time(),
            )
        elif reason is StopReason.FFMPEG_FAILED:
            self.notices[show_id] = StudioNotice(
                "The video service stopped; reconnect your encoder.", "error", time.time()
            )
        await self.lifecycle.stream_lost(show_id)

    async def stream_health(self, show_id: int, health: StreamHealth) -> None:
        self.health[show_id] = health

    async def stream_refused(self, show_id: int | None, name: str, reason: Refusal) -> None:
        # `name` may carry a key: never logged.
        log.info("refused a publisher for show %s: %s", show_id, reason.value)
        if show_id is not None:
            self.notices[show_id] = StudioNotice(REFUSAL_MESSAGES[reason], "error", time.time())

    # -- keeping the backend in step ---------------------------------------------------------

    async def sync(self) -> None:
        """Open the shows that may stream now (live, or starting within OPEN_BEFORE), close the
        others, and hand over rotated keys. Safe to call often."""
        if self.media is None:
            return
        wanted = await self._streamable()
        for show_id in list(self.opened):
            if show_id not in wanted:
                await self.close(show_id, make_recording=False)
        for show_id, stream in wanted.items():
            known = self.opened.get(show_id)
            if known is None:
                await self.media.open_show(stream)
            elif known[1] != stream.stream_key:
                await self.media.rotate_key(show_id, stream.stream_key)
            self.opened[show_id] = (stream.public_name, stream.stream_key, stream.simulcast)

    async def close(self, show_id: int, *, make_recording: bool = True) -> Recording | None:
        """The show ended (or was cancelled): stop its ingest and make the replay."""
        self.opened.pop(show_id, None)
        self.health.pop(show_id, None)
        if self.media is None:
            return None
        return await self.media.close_show(show_id)  # the backend makes the replay

    async def _streamable(self) -> dict[int, ShowStream]:
        soon = utc_now() + OPEN_BEFORE
        async with self.db.read() as session:
            shows = (
                await session.scalars(
                    select(Show)
                    .join(Merchant, Merchant.id == Show.merchant_id)
                    .where(
                        Merchant.status == MerchantStatus.APPROVED,
                        or_(
                            Show.status == ShowStatus.LIVE,
                            (Show.status == ShowStatus.SCHEDULED) & (Show.scheduled_start <= soon),
                        ),
                    )
                )
            ).all()
            destinations = (
                await session.scalars(
                    select(SimulcastDestination).where(
                        SimulcastDestination.show_id.in_([show.id for show in shows])
                    )
                )
            ).all()
        targets: dict[int, list[SimulcastTarget]] = {}
        for destination in destinations:
            targets.setdefault(destination.show_id, []).append(
                SimulcastTarget(destination.name, destination.url)
            )
        return {
            show.id: ShowStream(
                show_id=show.id,
                public_name=show.public_name,
                stream_key=show.stream_key,
                simulcast=tuple(targets.get(show.id, ())),
            )
            for show in shows
        }
