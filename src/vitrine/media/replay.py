"""When a show ends: the event playlist becomes a VOD playlist, and an MP4 for the merchant."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from vitrine.media.argv import (
    EVENT_PLAYLIST,
    REPLAY_MP4,
    REPLAY_PLAYLIST,
    recordings_replay_argv,
    replay_mp4_argv,
)
from vitrine.media.config import MediaConfig
from vitrine.media.hls import playlist_duration, vod_playlist
from vitrine.media.model import Recording

MP4_TIMEOUT_S = 600.0


async def make_replay(config: MediaConfig, show_id: int) -> Recording | None:
    """Write replay.m3u8 (atomically) and replay.mp4; None when nothing was recorded."""
    show_dir = config.show_dir(show_id)
    event = show_dir / EVENT_PLAYLIST
    if not event.exists():
        return None
    text = vod_playlist(event.read_text())
    tmp = show_dir / (REPLAY_PLAYLIST + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, show_dir / REPLAY_PLAYLIST)
    proc = await asyncio.create_subprocess_exec(
        *replay_mp4_argv(config.ffmpeg),
        cwd=show_dir,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, _ = await asyncio.wait_for(proc.communicate(), MP4_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
    mp4 = show_dir / REPLAY_MP4
    rel = f"hls/{show_id}/"
    return Recording(
        show_id=show_id,
        playlist=rel + REPLAY_PLAYLIST,
        mp4=rel + REPLAY_MP4 if proc.returncode == 0 and mp4.exists() else None,
        duration_s=round(playlist_duration(text), 3),
    )


def concat_list(files: list[Path]) -> str:
    """An ffmpeg concat-demuxer list (quotes escaped as the demuxer expects)."""
    return "".join("file '" + str(f).replace("'", "'\\''") + "'\n" for f in files)


def _write_concat_list(show_dir: Path, recordings: list[Path]) -> None:
    show_dir.mkdir(parents=True, exist_ok=True)
    (show_dir / "recordings.txt").write_text(concat_list(recordings))


async def make_replay_from_recordings(
    ffmpeg: str, recordings: list[Path], show_dir: Path, *, show_id: int, segment_s: int = 1
) -> Recording | None:
    """nginx-rtmp: the show's FLV recordings, in order, become replay.m3u8 (VOD) + replay.mp4."""
    if not recordings:
        return None
    _write_concat_list(show_dir, recordings)
    proc = await asyncio.create_subprocess_exec(
        *recordings_replay_argv(ffmpeg, concat_list="recordings.txt", segment_s=segment_s),
        cwd=show_dir,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.wait_for(proc.communicate(), MP4_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
    playlist = show_dir / REPLAY_PLAYLIST
    if proc.returncode != 0 or not playlist.exists():
        return None
    rel = f"hls/{show_id}/"
    return Recording(
        show_id=show_id,
        playlist=rel + REPLAY_PLAYLIST,
        mp4=rel + REPLAY_MP4 if (show_dir / REPLAY_MP4).exists() else None,
        duration_s=round(playlist_duration(playlist.read_text()), 3),
    )
