from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest

from vitrine.media.argv import demo_source_argv
from vitrine.media.config import MediaConfig
from vitrine.media.demo import find_font
from vitrine.media.embedded import EmbeddedBackend
from vitrine.media.model import Refusal, ShowStream, StopReason, StreamHealth

KEY = "k3y-Secret_0123456789abcdef"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def ffmpeg() -> str:
    return str(imageio_ffmpeg.get_ffmpeg_exe())


@pytest.fixture
def font() -> str:
    found = find_font()
    if found is None:
        pytest.skip("no font for drawtext: apt-get install fonts-dejavu-core")
    return found


@dataclass
class RecordingListener:
    """The shows domain as the tests see it: every report, in order."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    healths: list[StreamHealth] = field(default_factory=list)

    async def stream_started(self, show_id: int, *, resumed: bool) -> None:
        self.events.append(("started", show_id, resumed))

    async def stream_interrupted(self, show_id: int) -> None:
        self.events.append(("interrupted", show_id))

    async def stream_stopped(self, show_id: int, reason: StopReason) -> None:
        self.events.append(("stopped", show_id, reason))

    async def stream_health(self, show_id: int, health: StreamHealth) -> None:
        self.healths.append(health)

    async def stream_refused(self, show_id: int | None, name: str, reason: Refusal) -> None:
        self.events.append(("refused", show_id, name, reason))


@pytest.fixture
def listener() -> RecordingListener:
    return RecordingListener()


def _free_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def config(tmp_path: Path, ffmpeg: str) -> MediaConfig:
    return MediaConfig(
        ffmpeg=ffmpeg,
        data_dir=tmp_path,
        rtmp_host="127.0.0.1",
        rtmp_port=0,
        srt_host="127.0.0.1",
        srt_port=_free_udp_port(),
        srt_port_count=1,
        grace_s=60,
    )


@pytest.fixture
async def backend(
    config: MediaConfig, listener: RecordingListener
) -> AsyncIterator[EmbeddedBackend]:
    b = EmbeddedBackend(config, listener)
    await b.start()
    yield b
    await b.stop()


def show(show_id: int = 7, public_name: str = "spring-drop", **kw: Any) -> ShowStream:
    return ShowStream(show_id=show_id, public_name=public_name, stream_key=KEY, **kw)


async def publish(
    ffmpeg: str,
    url: str,
    font: str,
    *,
    seconds: float = 3,
    extra: list[str] | None = None,
    output_format: str = "flv",
    timeout_s: float = 40,
) -> tuple[int, str]:
    """Run the synthetic source for `seconds` of video; returns (exit code, stderr)."""
    argv = demo_source_argv(
        ffmpeg,
        url=url,
        start_epoch_s=time.time(),
        fontfile=font,
        size="320x180",
        fps=25,
        video_kbps=300,
        duration_s=seconds,
        output_format=output_format,
    )
    if extra:
        argv = argv[:-3] + extra + argv[-3:]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        _, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, err.decode("utf-8", "replace")


def segments(show_dir: Path) -> list[str]:
    if not show_dir.exists():
        return []
    return sorted(p.name for p in show_dir.iterdir() if p.suffix == ".ts")
