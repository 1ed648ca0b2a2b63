"""SRT ingest (passphrase = stream key), simulcast that survives a dead destination, restarts."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from tests.integration.media.conftest import (
    KEY,
    RecordingListener,
    publish,
    segments,
    show,
)
from tests.waiting import wait_until
from vitrine.media.config import MediaConfig
from vitrine.media.demo import srt_publish_url
from vitrine.media.embedded import EmbeddedBackend
from vitrine.media.model import Refusal, SimulcastTarget

pytestmark = [pytest.mark.media, pytest.mark.anyio]


def closed_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_srt_publisher_with_the_stream_key_as_passphrase_goes_live(
    backend: EmbeddedBackend,
    listener: RecordingListener,
    config: MediaConfig,
    ffmpeg: str,
    font: str,
) -> None:
    # given an open show with its SRT port
    await backend.open_show(show())
    port = backend.srt_port(7)
    assert port == config.srt_port
    await asyncio.sleep(0.5)  # let the SRT listener bind (a caller retries anyway)
    # when the host publishes over SRT with the key as passphrase
    code, err = await publish(
        ffmpeg, srt_publish_url("127.0.0.1", port, KEY), font, seconds=3, output_format="mpegts"
    )
    # then the show went live and HLS was written
    assert code == 0, err
    await wait_until(lambda: ("interrupted", 7) in listener.events)
    assert listener.events == [("started", 7, False), ("interrupted", 7)]
    assert len([s for s in segments(config.show_dir(7)) if s.startswith("rec_")]) >= 2


async def test_srt_publisher_with_a_wrong_passphrase_is_never_served(
    backend: EmbeddedBackend,
    listener: RecordingListener,
    config: MediaConfig,
    ffmpeg: str,
    font: str,
) -> None:
    # given an open show
    await backend.open_show(show())
    port = backend.srt_port(7)
    assert port is not None
    await asyncio.sleep(0.5)
    # when a publisher uses another passphrase
    code, _ = await publish(
        ffmpeg,
        srt_publish_url("127.0.0.1", port, "wrong-passphrase-123"),
        font,
        seconds=2,
        output_format="mpegts",
    )
    # then the SRT handshake fails, the studio is told, and nothing is written
    assert code != 0
    await wait_until(lambda: len(listener.events) == 1)
    assert listener.events == [("refused", 7, "spring-drop", Refusal.WRONG_KEY)]
    assert segments(config.show_dir(7)) == []


async def test_a_dead_simulcast_destination_never_stops_the_show(
    backend: EmbeddedBackend,
    listener: RecordingListener,
    config: MediaConfig,
    ffmpeg: str,
    font: str,
) -> None:
    # given a show copied to an RTMP destination nobody listens on
    dead = SimulcastTarget("shop-site", f"rtmp://127.0.0.1:{closed_tcp_port()}/live/x")
    await backend.open_show(show(simulcast=(dead,)))
    # when the host publishes
    code, _ = await publish(
        ffmpeg, f"rtmp://127.0.0.1:{backend.rtmp_port}/live/spring-drop?key={KEY}", font, seconds=3
    )
    # then the show is recorded in full and the studio sees the destination failed
    assert code == 0
    await wait_until(lambda: ("interrupted", 7) in listener.events)
    assert (config.show_dir(7) / "event.m3u8").read_text().count("#EXTINF:") == 3
    assert backend.health(7) is not None
    assert backend.health(7).destinations == {"shop-site": "failed"}  # type: ignore[union-attr]


async def test_a_crashed_ffmpeg_is_restarted_and_the_show_goes_on(
    backend: EmbeddedBackend,
    listener: RecordingListener,
    config: MediaConfig,
    ffmpeg: str,
    font: str,
) -> None:
    # given a live show
    await backend.open_show(show())
    publisher = asyncio.create_task(
        publish(
            ffmpeg,
            f"rtmp://127.0.0.1:{backend.rtmp_port}/live/spring-drop?key={KEY}",
            font,
            seconds=6,
        )
    )
    await wait_until(lambda: len(segments(config.show_dir(7))) >= 2)
    # when its ffmpeg dies
    pipeline = backend._pipelines[7]
    assert pipeline._copy is not None and pipeline._copy.proc is not None
    pipeline._copy.proc.kill()
    # then it is restarted once, the encoder never notices, and segments keep coming
    assert (await publisher)[0] == 0
    await wait_until(lambda: ("interrupted", 7) in listener.events)
    assert pipeline.restarts == 1
    assert listener.events == [("started", 7, False), ("interrupted", 7)]
    event = (config.show_dir(7) / "event.m3u8").read_text()
    assert event.count("#EXTINF:") >= 4


async def test_a_live_simulcast_destination_receives_the_show(
    backend: EmbeddedBackend, listener: RecordingListener, config: MediaConfig,
    ffmpeg: str, font: str, tmp_path: Path,
) -> None:  # fmt: skip
    # given a second Vitrine (the brand's own site) with a show, as the simulcast destination
    other_listener = RecordingListener()
    other = EmbeddedBackend(replace(config, data_dir=tmp_path / "other"), other_listener)
    await other.start()
    try:
        await other.open_show(show(9, "brand-site"))
        target = SimulcastTarget(
            "brand-site", f"rtmp://127.0.0.1:{other.rtmp_port}/live/brand-site?key={KEY}"
        )
        await backend.open_show(show(simulcast=(target,)))
        # when the host publishes to the first one
        code, _ = await publish(
            ffmpeg,
            f"rtmp://127.0.0.1:{backend.rtmp_port}/live/spring-drop?key={KEY}",
            font,
            seconds=3,
        )
        assert code == 0
        await wait_until(lambda: ("interrupted", 9) in other_listener.events)
        # then the destination went live with the same stream, and the studio sees it live
        assert other_listener.events == [("started", 9, False), ("interrupted", 9)]
        assert len(segments(tmp_path / "other" / "hls" / "9")) >= 4
        assert backend.health(7).destinations == {"brand-site": "live"}  # type: ignore[union-attr]
    finally:
        await other.stop()
