"""HLS files of a show: how the web layer serves them, and turning the recording into a replay."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

M3U8 = "application/vnd.apple.mpegurl"
_TYPES = {".m3u8": M3U8, ".ts": "video/mp2t", ".m4s": "video/iso.segment", ".mp4": "video/mp4"}
_SAFE = re.compile(r"^(\d{1,18})/([A-Za-z0-9][A-Za-z0-9_-]{0,63}\.(?:m3u8|ts|m4s|mp4))$")

LIVE_PLAYLIST_CACHE = "public, max-age=1"
REPLAY_PLAYLIST_CACHE = "public, max-age=300"
SEGMENT_CACHE = "public, max-age=31536000, immutable"
MP4_CACHE = "private, max-age=3600"  # the brand's download: no shared cache keeps it


@dataclass(frozen=True, slots=True)
class HlsFile:
    path: Path
    content_type: str
    cache_control: str
    show_id: int


def resolve_hls(hls_root: Path, request_path: str) -> HlsFile | None:
    """Map `<show_id>/<file>` (the part of the URL after /media/hls/) to a file to serve.

    None for anything else (path traversal, hidden or temporary files, unknown extensions):
    the web layer answers 404. Existence is not checked here.
    """
    m = _SAFE.match(request_path)
    if m is None:
        return None
    show_id, name = int(m.group(1)), m.group(2)
    suffix = name[name.rindex(".") :]
    if suffix == ".m3u8":
        cache = REPLAY_PLAYLIST_CACHE if name == "replay.m3u8" else LIVE_PLAYLIST_CACHE
    elif suffix == ".mp4":
        cache = MP4_CACHE
    else:
        cache = SEGMENT_CACHE
    return HlsFile(hls_root / str(show_id) / name, _TYPES[suffix], cache, show_id)


def playlist_duration(text: str) -> float:
    """Sum of the EXTINF durations of a media playlist."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#EXTINF:"):
            total += float(line[8:].split(",", 1)[0])
    return total


def vod_playlist(event_text: str) -> str:
    """The replay: the event playlist marked VOD and closed with ENDLIST."""
    lines = [ln for ln in event_text.splitlines() if ln.strip()]
    out: list[str] = []
    has_type = False
    for line in lines:
        if line.startswith("#EXT-X-PLAYLIST-TYPE:"):
            line = "#EXT-X-PLAYLIST-TYPE:VOD"
            has_type = True
        if line == "#EXT-X-ENDLIST":
            continue
        out.append(line)
    if not has_type and out and out[0] == "#EXTM3U":
        out.insert(1, "#EXT-X-PLAYLIST-TYPE:VOD")
    out.append("#EXT-X-ENDLIST")
    return "\n".join(out) + "\n"
