"""Stream health measured from the published FLV tags (bitrate, fps, keyframe interval)."""

from __future__ import annotations

from collections import deque

from vitrine.media import amf0
from vitrine.media.flv import AUDIO, SCRIPT, VIDEO, FlvTag, audio_codec, video_codec
from vitrine.media.model import StreamHealth

WINDOW_MS = 5000


class HealthMeter:
    """Feed every tag; `snapshot()` summarises the last few seconds of the stream's own clock."""

    def __init__(self) -> None:
        self._bytes: deque[tuple[int, int]] = deque()  # (timestamp ms, size)
        self._frames: deque[int] = deque()
        self._last_key: int | None = None
        self._key_intervals: deque[int] = deque(maxlen=5)
        self.frames = 0
        self.video_codec: str | None = None
        self.audio_codec: str | None = None
        self.width: int | None = None
        self.height: int | None = None

    def feed(self, tag: FlvTag) -> None:
        ts = tag.timestamp_ms
        self._bytes.append((ts, len(tag.data)))
        if tag.kind == VIDEO:
            self.video_codec = self.video_codec or video_codec(tag.data)
            if not tag.is_sequence_header:
                self.frames += 1
                self._frames.append(ts)
            if tag.is_keyframe and not tag.is_sequence_header:
                if self._last_key is not None and ts > self._last_key:
                    self._key_intervals.append(ts - self._last_key)
                self._last_key = ts
        elif tag.kind == AUDIO:
            self.audio_codec = self.audio_codec or audio_codec(tag.data)
        elif tag.kind == SCRIPT:
            self._read_metadata(tag.data)
        while self._bytes and ts - self._bytes[0][0] > WINDOW_MS:
            self._bytes.popleft()
        while self._frames and ts - self._frames[0] > WINDOW_MS:
            self._frames.popleft()

    def _read_metadata(self, data: bytes) -> None:
        """onMetaData's width/height, as announced by the encoder."""
        try:
            values = amf0.decode_all(data)
        except (amf0.AmfError, ValueError):
            return
        meta = values[1] if len(values) > 1 and isinstance(values[1], dict) else {}
        width, height = meta.get("width"), meta.get("height")
        if isinstance(width, float) and isinstance(height, float):
            self.width, self.height = int(width), int(height)

    @property
    def keyframe_interval_s(self) -> float | None:
        """Median of the last few keyframe intervals (robust to one short GOP at a cut)."""
        if not self._key_intervals:
            return None
        return sorted(self._key_intervals)[len(self._key_intervals) // 2] / 1000

    def snapshot(
        self, *, dropped_frames: int = 0, destinations: dict[str, str] | None = None
    ) -> StreamHealth:
        bitrate = fps = None
        if len(self._bytes) > 1:
            span = self._bytes[-1][0] - self._bytes[0][0]
            if span > 0:
                bitrate = round(sum(size for _, size in self._bytes) * 8 / span, 1)  # kbit/s
        if len(self._frames) > 1:
            span = self._frames[-1] - self._frames[0]
            if span > 0:
                fps = round((len(self._frames) - 1) * 1000 / span, 2)
        return StreamHealth(
            bitrate_kbps=bitrate,
            fps=fps,
            keyframe_interval_s=self.keyframe_interval_s,
            frames=self.frames,
            dropped_frames=dropped_frames,
            video_codec=self.video_codec,
            audio_codec=self.audio_codec,
            width=self.width,
            height=self.height,
            destinations=dict(destinations or {}),
        )
