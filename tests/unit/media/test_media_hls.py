"""Serving HLS files (types, cache, traversal) and turning the event playlist into a replay."""

from __future__ import annotations

from pathlib import Path

import pytest

from vitrine.media.hls import HlsFile, playlist_duration, resolve_hls, vod_playlist

ROOT = Path("/data/hls")


def test_a_live_playlist_is_served_as_mpegurl_cached_one_second() -> None:
    assert resolve_hls(ROOT, "12/live.m3u8") == HlsFile(
        ROOT / "12" / "live.m3u8", "application/vnd.apple.mpegurl", "public, max-age=1", 12
    )


def test_a_segment_is_immutable() -> None:
    assert resolve_hls(ROOT, "12/rec_000042.ts") == HlsFile(
        ROOT / "12" / "rec_000042.ts", "video/mp2t", "public, max-age=31536000, immutable", 12
    )


def test_fmp4_segments_and_the_replay_files() -> None:
    assert resolve_hls(ROOT, "3/seg_1.m4s") == HlsFile(
        ROOT / "3" / "seg_1.m4s", "video/iso.segment", "public, max-age=31536000, immutable", 3
    )
    assert resolve_hls(ROOT, "3/replay.m3u8") == HlsFile(
        ROOT / "3" / "replay.m3u8", "application/vnd.apple.mpegurl", "public, max-age=300", 3
    )
    assert resolve_hls(ROOT, "3/replay.mp4") == HlsFile(
        ROOT / "3" / "replay.mp4", "video/mp4", "private, max-age=3600", 3
    )


@pytest.mark.parametrize(
    "path",
    [
        "../etc/passwd",
        "12/../../etc/passwd",
        "12/..m3u8",
        "/12/live.m3u8",
        "12/sub/live.m3u8",
        "12/.live.m3u8",
        "12/live.m3u8.tmp",
        "12/live.ts.tmp",
        "12/secret.txt",
        "abc/live.m3u8",
        "12\\live.m3u8",
        "12/live.m3u8?x=1",
        "12/live%2f.m3u8",
        "",
    ],
)
def test_anything_else_is_refused(path: str) -> None:
    assert resolve_hls(ROOT, path) is None


EVENT = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:1
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:EVENT
#EXTINF:1.000000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T23:45:41.732+0000
rec_000000.ts
#EXT-X-DISCONTINUITY
#EXTINF:0.500000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T23:46:01.100+0000
rec_000001.ts
"""


def test_the_event_playlist_becomes_a_closed_vod_playlist() -> None:
    assert vod_playlist(EVENT) == EVENT.replace("TYPE:EVENT", "TYPE:VOD") + "#EXT-X-ENDLIST\n"


def test_a_playlist_already_ended_is_not_ended_twice() -> None:
    once = vod_playlist(EVENT)
    assert vod_playlist(once) == once


def test_a_playlist_without_a_type_gets_one() -> None:
    text = "#EXTM3U\n#EXTINF:1.0,\na.ts\n"
    assert (
        vod_playlist(text)
        == "#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:1.0,\na.ts\n#EXT-X-ENDLIST\n"
    )


def test_playlist_duration_sums_extinf() -> None:
    assert playlist_duration(EVENT) == 1.5
