"""The ABR ladder, when a show asks for it: a master playlist and three renditions."""

from __future__ import annotations

import pytest

from tests.integration.media.conftest import KEY, RecordingListener, publish, show
from tests.waiting import wait_until
from vitrine.media.config import MediaConfig
from vitrine.media.embedded import EmbeddedBackend

pytestmark = [pytest.mark.media, pytest.mark.anyio]


async def test_a_show_with_the_abr_ladder_gets_a_master_playlist(
    backend: EmbeddedBackend,
    listener: RecordingListener,
    config: MediaConfig,
    ffmpeg: str,
    font: str,
) -> None:
    # given a show with the ladder on
    await backend.open_show(show(abr=True))
    # when the host publishes
    code, _ = await publish(
        ffmpeg, f"rtmp://127.0.0.1:{backend.rtmp_port}/live/spring-drop?key={KEY}", font, seconds=3
    )
    assert code == 0
    await wait_until(lambda: ("interrupted", 7) in listener.events)
    # then the master lists 720p, 480p and 360p, each with its own playlist, next to the copy
    master = (config.show_dir(7) / "abr.m3u8").read_text()
    assert [ln for ln in master.splitlines() if ln.endswith(".m3u8")] == [
        "abr_720p.m3u8",
        "abr_480p.m3u8",
        "abr_360p.m3u8",
    ]
    assert "RESOLUTION=1280x720" in master
    for name in ("abr_720p.m3u8", "abr_480p.m3u8", "abr_360p.m3u8", "live.m3u8"):
        assert "#EXTINF:" in (config.show_dir(7) / name).read_text()
