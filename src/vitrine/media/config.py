"""Typed configuration handed to the media package by the app (media never reads settings)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class MediaConfig:
    """Everything the media package needs; the app builds it from its own settings."""

    ffmpeg: str
    data_dir: Path
    rtmp_host: str = "0.0.0.0"
    rtmp_port: int = 1935
    srt_host: str = "0.0.0.0"
    srt_port: int = 9000  # first SRT port; each live show gets its own (see docs/media.md)
    srt_port_count: int = 50
    grace_s: float = 60.0
    abr_ladder: bool = False
    segment_s: int = 1
    live_window: int = 6  # segments kept in the live playlist
    restart_attempts: int = 5  # consecutive ffmpeg crashes tolerated per publish session
    restart_backoff_s: float = 0.5  # doubled after each crash
    fontfile: str = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"

    @property
    def hls_root(self) -> Path:
        return self.data_dir / "hls"

    def show_dir(self, show_id: int) -> Path:
        return self.hls_root / str(show_id)
