"""The demo host: a synthetic source (test pattern, burnt-in UTC clock, tone) publishing live."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from vitrine.media.argv import demo_source_argv, srt_url

log = logging.getLogger(__name__)

FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",  # Debian: fonts-dejavu-core
    "/usr/share/fonts/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/TTF/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
    "/System/Library/Fonts/Menlo.ttc",
)


def find_font(candidates: Sequence[str] = FONT_CANDIDATES) -> str | None:
    """A font file drawtext can use, or None (install Debian's fonts-dejavu-core)."""
    return next((c for c in candidates if Path(c).is_file()), None)


def ffmpeg_path(configured: str = "") -> str:
    """The configured ffmpeg, else the binary bundled with the imageio-ffmpeg wheel."""
    if configured:
        return configured
    import imageio_ffmpeg  # imported here: only needed when no ffmpeg is configured

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def rtmp_publish_url(host: str, port: int, public_name: str, key: str) -> str:
    return f"rtmp://{host}:{port}/live/{public_name}?key={key}"


def srt_publish_url(host: str, port: int, key: str) -> str:
    return srt_url(host, port, key, listener=False)


class DemoSource:
    """Runs the synthetic source, restarting it (with a pause) whenever it stops."""

    def __init__(
        self,
        ffmpeg: str,
        url: str,
        *,
        fontfile: str,
        size: str = "1280x720",
        fps: int = 30,
        video_kbps: int = 2000,
        restart_pause_s: float = 2.0,
    ) -> None:
        self.ffmpeg = ffmpeg
        self.url = url
        self.fontfile = fontfile
        self.size = size
        self.fps = fps
        self.video_kbps = video_kbps
        self.restart_pause_s = restart_pause_s
        self.runs = 0
        self._task: asyncio.Task[None] | None = None
        self._proc: asyncio.subprocess.Process | None = None

    def argv(self) -> list[str]:
        fmt = "mpegts" if self.url.startswith("srt://") else "flv"
        return demo_source_argv(
            self.ffmpeg,
            url=self.url,
            start_epoch_s=time.time(),
            fontfile=self.fontfile,
            size=self.size,
            fps=self.fps,
            video_kbps=self.video_kbps,
            output_format=fmt,
        )

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            self.runs += 1
            self._proc = await asyncio.create_subprocess_exec(
                *self.argv(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            _, err = await self._proc.communicate()
            log.info("demo source stopped (%s): %s", self._proc.returncode, err[-300:])
            await asyncio.sleep(self.restart_pause_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            await self._proc.wait()
