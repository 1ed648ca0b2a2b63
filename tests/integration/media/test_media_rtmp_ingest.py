"""RTMP ingest through the front door: the key decides, ffmpeg writes HLS, the show gets told."""

from __future__ import annotations

import asyncio
import os
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
from vitrine.media import amf0, rtmp
from vitrine.media.config import MediaConfig
from vitrine.media.embedded import EmbeddedBackend
from vitrine.media.model import Refusal, StopReason
from vitrine.media.rtmp import Message, encode_message

pytestmark = [pytest.mark.media, pytest.mark.anyio]


def url(backend: EmbeddedBackend, name: str) -> str:
    return f"rtmp://127.0.0.1:{backend.rtmp_port}/live/{name}"


async def test_publisher_with_the_right_key_goes_live_and_is_written_as_hls(
    backend: EmbeddedBackend,
    listener: RecordingListener,
    config: MediaConfig,
    ffmpeg: str,
    font: str,
) -> None:
    # given an open show
    await backend.open_show(show())
    # when the host publishes 3 s with the show's key
    code, _ = await publish(ffmpeg, url(backend, f"spring-drop?key={KEY}"), font, seconds=3)
    # then the show went live, then was interrupted (grace period) when the encoder stopped
    assert code == 0
    await wait_until(lambda: len(listener.events) == 2)
    assert listener.events == [("started", 7, False), ("interrupted", 7)]
    live = (config.show_dir(7) / "live.m3u8").read_text()
    assert "#EXT-X-TARGETDURATION:1" in live
    assert "#EXT-X-PROGRAM-DATE-TIME:" in live
    assert "#EXT-X-ENDLIST" not in live  # players keep polling during the grace period
    event = (config.show_dir(7) / "event.m3u8").read_text()
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in event
    assert event.count("#EXTINF:") == 3
    assert len([s for s in segments(config.show_dir(7)) if s.startswith("rec_")]) == 3
    health = listener.healths[-1]
    assert (health.video_codec, health.audio_codec, health.keyframe_interval_s) == (
        "h264",
        "aac",
        1.0,
    )
    assert health.dropped_frames == 0
    assert (health.width, health.height) == (320, 180)
    assert health.fps is not None and round(health.fps) == 25


async def test_a_wrong_key_is_refused_and_nothing_is_served(
    backend: EmbeddedBackend,
    listener: RecordingListener,
    config: MediaConfig,
    ffmpeg: str,
    font: str,
) -> None:
    # given an open show
    await backend.open_show(show())
    # when a publisher uses a wrong key
    code, err = await publish(
        ffmpeg, url(backend, "spring-drop?key=not-the-key-123"), font, seconds=2
    )
    # then the encoder is told why, the studio is told, and no HLS file exists at all
    assert code != 0
    assert "The stream key is wrong" in err
    assert listener.events == [("refused", 7, "spring-drop", Refusal.WRONG_KEY)]
    assert os.listdir(config.show_dir(7)) == []


async def test_the_key_alone_as_stream_name_is_accepted(
    backend: EmbeddedBackend, listener: RecordingListener, ffmpeg: str, font: str
) -> None:
    # given an open show, when OBS is given only the key as "stream key"
    await backend.open_show(show())
    code, _ = await publish(ffmpeg, url(backend, KEY), font, seconds=1)
    # then it is the show's publisher
    assert code == 0
    await wait_until(lambda: len(listener.events) == 2)
    assert listener.events[0] == ("started", 7, False)


async def test_an_unknown_show_is_refused(
    backend: EmbeddedBackend, listener: RecordingListener, ffmpeg: str, font: str
) -> None:
    await backend.open_show(show())
    code, err = await publish(ffmpeg, url(backend, f"no-such-show?key={KEY}"), font, seconds=1)
    assert code != 0
    assert "No show accepts streams under this name" in err
    assert listener.events == [("refused", None, "no-such-show", Refusal.UNKNOWN_SHOW)]


async def test_a_second_publisher_on_a_live_show_is_refused(
    backend: EmbeddedBackend,
    listener: RecordingListener,
    config: MediaConfig,
    ffmpeg: str,
    font: str,
) -> None:
    # given a show live from a first encoder
    await backend.open_show(show())
    first = asyncio.create_task(
        publish(ffmpeg, url(backend, f"spring-drop?key={KEY}"), font, seconds=5)
    )
    await wait_until(lambda: ("started", 7, False) in listener.events)
    # when a second encoder publishes with the same key
    code, err = await publish(ffmpeg, url(backend, f"spring-drop?key={KEY}"), font, seconds=1)
    # then it is refused and the first one carries on to the end
    assert code != 0
    assert "Another encoder is already streaming" in err
    assert (await first)[0] == 0
    await wait_until(lambda: ("interrupted", 7) in listener.events)
    assert listener.events == [
        ("started", 7, False),
        ("refused", 7, "spring-drop", Refusal.ALREADY_LIVE),
        ("interrupted", 7),
    ]
    assert (config.show_dir(7) / "event.m3u8").read_text().count("#EXTINF:") == 5


async def test_a_stream_that_is_not_h264_is_refused_with_a_reason(
    backend: EmbeddedBackend,
    listener: RecordingListener,
    config: MediaConfig,
    ffmpeg: str,
    font: str,
) -> None:
    # given an open show, when the encoder sends Sorenson H.263 instead of H.264
    await backend.open_show(show())
    code, _ = await publish(
        ffmpeg, url(backend, f"spring-drop?key={KEY}"), font, seconds=2, extra=["-c:v", "flv1"]
    )
    # then the studio is told the codec is wrong and nothing was written
    assert listener.events == [("refused", 7, "spring-drop", Refusal.BAD_CODEC)]
    assert segments(config.show_dir(7)) == []
    assert code != 0 or code == 0  # the encoder may or may not notice the closed socket


async def test_garbage_on_the_rtmp_port_is_a_protocol_error(
    backend: EmbeddedBackend, listener: RecordingListener
) -> None:
    # given an open show, when something that is not RTMP connects
    await backend.open_show(show())
    reader, writer = await asyncio.open_connection("127.0.0.1", backend.rtmp_port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b"\x00" * 2000)
    await writer.drain()
    # then the connection is closed and the refusal reported
    assert await asyncio.wait_for(reader.read(), 10) == b""
    writer.close()
    await wait_until(lambda: len(listener.events) == 1)
    assert listener.events == [("refused", None, "", Refusal.PROTOCOL_ERROR)]


async def test_the_host_ending_the_show_makes_a_replay_and_an_mp4(
    backend: EmbeddedBackend,
    listener: RecordingListener,
    config: MediaConfig,
    ffmpeg: str,
    font: str,
) -> None:
    # given a show that was live for 3 s
    await backend.open_show(show())
    code, _ = await publish(ffmpeg, url(backend, f"spring-drop?key={KEY}"), font, seconds=3)
    assert code == 0
    await wait_until(lambda: ("interrupted", 7) in listener.events)
    # when the host ends it
    recording = await backend.close_show(7)
    # then the show is stopped, the event playlist became a VOD and the MP4 is faststart
    assert listener.events[-1] == ("stopped", 7, StopReason.SHOW_CLOSED)
    assert recording is not None
    assert (recording.playlist, recording.mp4) == ("hls/7/replay.m3u8", "hls/7/replay.mp4")
    assert 2.9 <= recording.duration_s <= 3.1
    replay = (config.data_dir / recording.playlist).read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in replay
    assert replay.endswith("#EXT-X-ENDLIST\n")
    mp4 = (config.data_dir / "hls/7/replay.mp4").read_bytes()
    assert 0 < mp4.index(b"moov") < mp4.index(b"mdat")


async def test_a_publisher_back_within_the_grace_period_resumes_the_show(
    backend: EmbeddedBackend,
    listener: RecordingListener,
    config: MediaConfig,
    ffmpeg: str,
    font: str,
) -> None:
    # given a show whose encoder dropped
    await backend.open_show(show())
    await publish(ffmpeg, url(backend, f"spring-drop?key={KEY}"), font, seconds=2)
    await wait_until(lambda: ("interrupted", 7) in listener.events)
    # when it comes back within the grace period
    await publish(ffmpeg, url(backend, f"spring-drop?key={KEY}"), font, seconds=2)
    await wait_until(lambda: listener.events.count(("interrupted", 7)) == 2)
    # then the show resumed (never stopped) and the recording continues after a discontinuity
    assert listener.events == [
        ("started", 7, False),
        ("interrupted", 7),
        ("started", 7, True),
        ("interrupted", 7),
    ]
    event = (config.show_dir(7) / "event.m3u8").read_text()
    lines = event.splitlines()
    assert lines[lines.index("rec_000002.ts") - 3] == "#EXT-X-DISCONTINUITY"
    assert [ln for ln in lines if ln.startswith("rec_")] == [f"rec_00000{i}.ts" for i in range(4)]


async def test_the_host_ending_a_live_show_disconnects_the_encoder(
    backend: EmbeddedBackend,
    listener: RecordingListener,
    config: MediaConfig,
    ffmpeg: str,
    font: str,
) -> None:
    # given a show live for a couple of segments
    await backend.open_show(show())
    host = asyncio.create_task(
        publish(ffmpeg, url(backend, f"spring-drop?key={KEY}"), font, seconds=30)
    )
    await wait_until(lambda: len(segments(config.show_dir(7))) >= 4)
    # when the host ends it
    recording = await backend.close_show(7)
    # then the encoder is cut off, the stream is reported stopped (no grace period), and the
    # replay holds what was streamed
    code, _ = await asyncio.wait_for(host, 20)
    assert code != 0
    assert listener.events == [("started", 7, False), ("stopped", 7, StopReason.SHOW_CLOSED)]
    assert recording is not None and recording.mp4 is not None
    assert recording.duration_s >= 1


async def test_an_encoder_cut_mid_segment_keeps_what_was_sent(
    backend: EmbeddedBackend,
    listener: RecordingListener,
    config: MediaConfig,
    ffmpeg: str,
    font: str,
) -> None:
    # given a live show
    await backend.open_show(show())
    host = asyncio.create_task(
        publish(ffmpeg, url(backend, f"spring-drop?key={KEY}"), font, seconds=30, timeout_s=2.5)
    )
    # when the encoder is killed mid-segment (2.5 s in)
    code, _ = await host
    assert code != 0
    # then the show is interrupted (grace period), and the partial last segment is listed
    await wait_until(lambda: ("interrupted", 7) in listener.events)
    assert listener.events == [("started", 7, False), ("interrupted", 7)]
    event = (config.show_dir(7) / "event.m3u8").read_text()
    durations = [
        float(ln[8:].rstrip(",")) for ln in event.splitlines() if ln.startswith("#EXTINF:")
    ]
    assert len(durations) >= 2
    assert durations[-1] < 1.0


async def test_a_stream_that_does_not_come_back_is_reported_stopped_after_the_grace_period(
    tmp_path: Path, ffmpeg: str, font: str, listener: RecordingListener, config: MediaConfig
) -> None:
    # given a backend with a 1-second grace period and a show that went live
    short = EmbeddedBackend(replace(config, grace_s=1.0), listener)
    await short.start()
    try:
        await short.open_show(show())
        await publish(ffmpeg, url(short, f"spring-drop?key={KEY}"), font, seconds=1)
        # when nothing comes back, then the stream is stopped, the show is not closed
        await wait_until(lambda: len(listener.events) == 3)
        assert listener.events == [
            ("started", 7, False),
            ("interrupted", 7),
            ("stopped", 7, StopReason.GRACE_EXPIRED),
        ]
        assert short.is_publishing(7) is False
        assert short.health(7) is not None  # still open: the host may go live again
    finally:
        await short.stop()


async def test_after_a_key_rotation_only_the_new_key_publishes(
    backend: EmbeddedBackend, listener: RecordingListener, ffmpeg: str, font: str
) -> None:
    # given an open show whose key the host rotated
    await backend.open_show(show())
    new_key = "rotated-key-0123456789abcdef"
    await backend.rotate_key(7, new_key)
    # when the old key is used, then it is refused; the new one goes live
    code, _ = await publish(ffmpeg, url(backend, f"spring-drop?key={KEY}"), font, seconds=1)
    assert code != 0
    code, _ = await publish(ffmpeg, url(backend, f"spring-drop?key={new_key}"), font, seconds=1)
    assert code == 0
    await wait_until(lambda: ("interrupted", 7) in listener.events)
    assert listener.events == [
        ("refused", 7, "spring-drop", Refusal.WRONG_KEY),
        ("started", 7, False),
        ("interrupted", 7),
    ]
    assert (
        backend.ingest_urls(7, "live.example.com").rtmp_stream_key == f"spring-drop?key={new_key}"
    )


async def rtmp_publish_by_hand(
    port: int, name: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A minimal RTMP client: handshake, connect, createStream, publish `name`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"\x03" + bytes(1536))
    await reader.readexactly(1 + 1536 * 2)
    writer.write(bytes(1536))
    commands = [
        ("connect", 1, {"app": "live", "tcUrl": f"rtmp://127.0.0.1:{port}/live"}),
        ("createStream", 2, None),
        ("publish", 3, None, name, "live"),
    ]
    for i, cmd in enumerate(commands):
        writer.write(
            encode_message(3, Message(20, 1 if i == 2 else 0, 0, amf0.encode_all(*cmd)), 128)
        )
    await writer.drain()
    return reader, writer


async def test_a_publisher_sending_garbage_after_publish_is_dropped_as_a_protocol_error(
    backend: EmbeddedBackend, listener: RecordingListener, config: MediaConfig
) -> None:
    # given an open show and an authorised publisher
    await backend.open_show(show())
    reader, writer = await rtmp_publish_by_hand(backend.rtmp_port, f"spring-drop?key={KEY}")
    # when it sends garbage instead of audio and video
    writer.write(bytes([0x04]) + b"\xff" * 2000)
    await writer.drain()
    # then the connection is closed, the studio is told, and nothing was written
    await asyncio.wait_for(reader.read(), 10)
    writer.close()
    await wait_until(lambda: len(listener.events) == 1)
    assert listener.events == [("refused", 7, "spring-drop", Refusal.PROTOCOL_ERROR)]
    assert segments(config.show_dir(7)) == []
    assert backend.is_publishing(7) is False


async def test_a_silent_publisher_is_dropped_and_frees_the_show(
    backend: EmbeddedBackend, listener: RecordingListener, ffmpeg: str, font: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # given an authorised publisher that then sends nothing
    monkeypatch.setattr(rtmp, "IDLE_TIMEOUT_S", 0.5)
    await backend.open_show(show())
    reader, writer = await rtmp_publish_by_hand(backend.rtmp_port, f"spring-drop?key={KEY}")
    # when it stays silent, then the front door closes the connection
    while await asyncio.wait_for(reader.read(4096), 10):
        pass
    writer.close()
    # and the show takes the next encoder
    code, _ = await publish(ffmpeg, url(backend, f"spring-drop?key={KEY}"), font, seconds=1)
    assert code == 0
    await wait_until(lambda: ("interrupted", 7) in listener.events)
    assert listener.events == [("started", 7, False), ("interrupted", 7)]
