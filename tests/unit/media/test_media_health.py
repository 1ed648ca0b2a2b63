"""Stream health from the published tags."""

from __future__ import annotations

from vitrine.media import amf0
from vitrine.media.flv import AUDIO, SCRIPT, VIDEO, FlvTag
from vitrine.media.health import HealthMeter
from vitrine.media.model import StreamHealth


def test_health_of_a_25_fps_stream_with_a_keyframe_every_second() -> None:
    # given 3 s of 25 fps video (keyframe every 25 frames, 4000-byte frames) and AAC audio
    meter = HealthMeter()
    meter.feed(FlvTag(SCRIPT, 0, amf0.encode_all("onMetaData", {"width": 1280.0, "height": 720.0})))
    meter.feed(FlvTag(VIDEO, 0, b"\x17\x00" + bytes(20)))  # AVC sequence header
    meter.feed(FlvTag(AUDIO, 0, b"\xaf\x00\x12\x10"))  # AAC sequence header
    for i in range(75):
        frame_type = 0x17 if i % 25 == 0 else 0x27
        meter.feed(FlvTag(VIDEO, i * 40, bytes([frame_type, 1]) + bytes(3998)))
    # when summarised, then
    assert meter.snapshot(dropped_frames=2, destinations={"yt": "live"}) == StreamHealth(
        bitrate_kbps=811.0,  # (75 frames x 4000 B + headers) x 8 / 2960 ms
        fps=25.0,
        keyframe_interval_s=1.0,
        frames=75,
        dropped_frames=2,
        video_codec="h264",
        audio_codec="aac",
        width=1280,
        height=720,
        destinations={"yt": "live"},
    )


def test_nothing_known_before_any_tag() -> None:
    assert HealthMeter().snapshot() == StreamHealth()
