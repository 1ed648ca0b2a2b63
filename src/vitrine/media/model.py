"""The media backend's contract with the app: what the app tells it, what it reports back."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SimulcastTarget:
    """An RTMP destination the show is copied to (e.g. a brand's other social account)."""

    name: str
    url: str  # rtmp://host[:port]/app/streamkey


@dataclass(frozen=True, slots=True)
class ShowStream:
    """A show that may publish. `public_name` is random and URL-safe; `stream_key` is secret."""

    show_id: int
    public_name: str
    stream_key: str
    simulcast: tuple[SimulcastTarget, ...] = ()
    abr: bool | None = None  # None: follow MediaConfig.abr_ladder


@dataclass(frozen=True, slots=True)
class StreamHealth:
    """What the studio shows while live. None means "not known yet"."""

    bitrate_kbps: float | None = None
    fps: float | None = None
    keyframe_interval_s: float | None = None
    frames: int = 0
    dropped_frames: int = 0
    video_codec: str | None = None
    audio_codec: str | None = None
    width: int | None = None
    height: int | None = None
    destinations: dict[str, str] = field(default_factory=dict)  # simulcast name -> status


class Refusal(enum.StrEnum):
    """Why a publisher was turned away; the studio shows the matching message."""

    UNKNOWN_SHOW = "unknown_show"
    WRONG_KEY = "wrong_key"
    ALREADY_LIVE = "already_live"
    BAD_CODEC = "bad_codec"
    PROTOCOL_ERROR = "protocol_error"
    THROTTLED = "throttled"  # too many wrong keys from the publisher's address


REFUSAL_MESSAGES: dict[Refusal, str] = {
    Refusal.UNKNOWN_SHOW: "No show accepts streams under this name: check the server URL.",
    Refusal.WRONG_KEY: "The stream key is wrong: copy it again from the studio.",
    Refusal.ALREADY_LIVE: "Another encoder is already streaming to this show.",
    Refusal.BAD_CODEC: "Vitrine needs H.264 video and AAC audio: change the encoder settings.",
    Refusal.PROTOCOL_ERROR: "The encoder sent data Vitrine could not read.",
    Refusal.THROTTLED: (
        "Too many wrong stream keys came from one address, so Vitrine refuses it for about a "
        "minute, even with the right key. If an encoder still uses an old key, stop it or paste "
        "the current key, then start again."
    ),
}


class StopReason(enum.StrEnum):
    PUBLISHER_LEFT = "publisher_left"  # the encoder stopped or the connection dropped
    GRACE_EXPIRED = "grace_expired"  # no stream came back within the grace period
    SHOW_CLOSED = "show_closed"  # the app closed the show (host ended it)
    FFMPEG_FAILED = "ffmpeg_failed"  # ffmpeg kept crashing; restarts exhausted


class StreamListener(Protocol):
    """Implemented by the shows domain: turns publish/unpublish into show state.

    `stream_started` fires when a stream arrives (also after a reconnect within the grace
    period: `resumed` is then True); `stream_interrupted` when it drops (the grace period
    starts); `stream_stopped` when the grace period ran out or the show was closed.
    """

    async def stream_started(self, show_id: int, *, resumed: bool) -> None: ...

    async def stream_interrupted(self, show_id: int) -> None: ...

    async def stream_stopped(self, show_id: int, reason: StopReason) -> None: ...

    async def stream_health(self, show_id: int, health: StreamHealth) -> None: ...

    async def stream_refused(self, show_id: int | None, name: str, reason: Refusal) -> None: ...


@dataclass(frozen=True, slots=True)
class Recording:
    """The replay of an ended show, paths relative to MediaConfig.data_dir."""

    show_id: int
    playlist: str  # hls/<id>/replay.m3u8 (VOD, ENDLIST)
    mp4: str | None  # hls/<id>/replay.mp4 (faststart) or None when nothing was recorded
    duration_s: float


class MediaBackend(Protocol):
    """What the app calls. Both the embedded backend and the nginx-rtmp backend implement it."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def open_show(self, stream: ShowStream) -> None: ...

    async def close_show(self, show_id: int) -> Recording | None: ...

    async def rotate_key(self, show_id: int, new_key: str) -> None: ...

    def is_publishing(self, show_id: int) -> bool: ...

    def health(self, show_id: int) -> StreamHealth | None: ...

    def live_playlist_url(self, show_id: int) -> str | None:
        """Site-relative URL of the show's live playlist (replays: /hls/<id>/replay.m3u8)."""
        ...


class MediaError(Exception):
    """Base error of the media package."""
