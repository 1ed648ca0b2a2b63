"""Pure parsers of what ffmpeg prints: `-progress` blocks and a few stderr lines."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Progress:
    """One `-progress` block (ffmpeg prints one per `-stats_period`)."""

    frame: int
    fps: float | None
    bitrate_kbps: float | None
    total_size: int | None
    out_time_s: float | None
    dup_frames: int
    drop_frames: int
    speed: float | None
    ended: bool


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    value = value.strip().removesuffix("kbits/s").removesuffix("x").strip()
    try:
        return float(value)
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    f = _float(value)
    return None if f is None else int(f)


class ProgressParser:
    """Feed `-progress` lines; a complete block comes back when its `progress=` line arrives."""

    def __init__(self) -> None:
        self._fields: dict[str, str] = {}

    def feed(self, line: str) -> Progress | None:
        key, sep, value = line.strip().partition("=")
        if not sep:
            return None
        if key != "progress":
            self._fields[key] = value
            return None
        f, self._fields = self._fields, {}
        out_us = _int(f.get("out_time_us"))
        return Progress(
            frame=_int(f.get("frame")) or 0,
            fps=_float(f.get("fps")),
            bitrate_kbps=_float(f.get("bitrate")),
            total_size=_int(f.get("total_size")),
            out_time_s=None if out_us is None or out_us < 0 else out_us / 1_000_000,
            dup_frames=_int(f.get("dup_frames")) or 0,
            drop_frames=_int(f.get("drop_frames")) or 0,
            speed=_float(f.get("speed")),
            ended=value.strip() == "end",
        )


_STREAM = re.compile(r"^\s*Stream #(\d+):(\d+)\S*: (Video|Audio): (\w+)")
_SIZE = re.compile(r", (\d{2,5})x(\d{2,5})[, ]")


@dataclass(frozen=True, slots=True)
class InputStream:
    file_index: int
    index: int
    kind: str  # "video" | "audio"
    codec: str
    width: int | None = None
    height: int | None = None


def parse_stream_line(line: str) -> InputStream | None:
    """`  Stream #0:0: Video: h264 (High), yuv420p, 1280x720, ...` -> InputStream."""
    m = _STREAM.match(line)
    if m is None:
        return None
    width = height = None
    if m.group(3) == "Video":
        size = _SIZE.search(line)
        if size:
            width, height = int(size.group(1)), int(size.group(2))
    return InputStream(
        int(m.group(1)), int(m.group(2)), m.group(3).lower(), m.group(4), width, height
    )


_SLAVE_FAILED = re.compile(r"Slave muxer #(\d+) failed")
_SLAVE_OPEN = re.compile(r"Slave '\[[^\]]*\](.*?)': error (?:opening|writing header)")


def parse_slave_failure(line: str, slave_urls: list[str]) -> int | None:
    """Index (in `slave_urls`) of the tee slave a stderr line reports as failed, if any."""
    m = _SLAVE_FAILED.search(line)
    if m:
        return int(m.group(1))
    m = _SLAVE_OPEN.search(line)
    if m:
        for i, url in enumerate(slave_urls):
            if url == m.group(1) or url.endswith(m.group(1)):
                return i
    return None
