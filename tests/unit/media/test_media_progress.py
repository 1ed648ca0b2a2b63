"""Parsing what ffmpeg prints: -progress blocks, input stream lines, tee slave failures."""

from __future__ import annotations

from vitrine.media.progress import (
    InputStream,
    Progress,
    ProgressParser,
    parse_slave_failure,
    parse_stream_line,
)

BLOCK = """frame=151
fps=30.00
stream_0_0_q=-1.0
bitrate=2261.4kbits/s
total_size=1413120
out_time_us=5000000
out_time_ms=5000000
out_time=00:00:05.000000
dup_frames=0
drop_frames=2
speed=1.01x
progress=continue
"""


def test_a_progress_block_is_parsed_when_its_progress_line_arrives() -> None:
    parser = ProgressParser()
    results = [parser.feed(line) for line in BLOCK.splitlines()]
    assert results[:-1] == [None] * 11
    assert results[-1] == Progress(
        frame=151,
        fps=30.0,
        bitrate_kbps=2261.4,
        total_size=1413120,
        out_time_s=5.0,
        dup_frames=0,
        drop_frames=2,
        speed=1.01,
        ended=False,
    )


def test_the_last_block_says_ended_and_unknowns_are_none() -> None:
    parser = ProgressParser()
    lines = ["frame=0", "fps=0.00", "bitrate=N/A", "total_size=N/A", "out_time_us=N/A",
             "speed=N/A", "progress=end"]  # fmt: skip
    result = [parser.feed(line) for line in lines][-1]
    assert result == Progress(0, 0.0, None, None, None, 0, 0, None, True)


def test_blocks_do_not_leak_into_each_other() -> None:
    parser = ProgressParser()
    for line in BLOCK.splitlines():
        parser.feed(line)
    assert parser.feed("progress=continue") == Progress(
        0, None, None, None, None, 0, 0, None, False
    )


def test_input_stream_lines() -> None:
    video = "  Stream #0:0: Video: h264 (High), yuv420p(progressive), 1280x720 [SAR 1:1 DAR 16:9], 30 fps"
    audio = "  Stream #0:1[0x101]: Audio: aac (LC) ([15][0][0][0] / 0x000F), 48000 Hz, stereo"
    hevc = "  Stream #0:0[0x100]: Video: hevc (Main) ([36][0][0][0] / 0x0024), yuv420p, 640x360, 25 fps"
    assert parse_stream_line(video) == InputStream(0, 0, "video", "h264", 1280, 720)
    assert parse_stream_line(audio) == InputStream(0, 1, "audio", "aac")
    assert parse_stream_line(hevc) == InputStream(0, 0, "video", "hevc", 640, 360)
    assert parse_stream_line("Input #0, flv, from 'pipe:0':") is None


def test_tee_slave_failures_name_the_destination() -> None:
    urls = ["live.m3u8", "event.m3u8", "rtmp://a/live/x", "rtmp://b/live/y"]
    line = "[tee @ 0x55] Slave muxer #3 failed: Broken pipe, continuing with 3/4 slaves."
    opening = "[tee @ 0x55] Slave '[f=flv:onfail=ignore]rtmp://a/live/x': error opening: Connection refused"
    assert parse_slave_failure(line, urls) == 3
    assert parse_slave_failure(opening, urls) == 2
    assert parse_slave_failure("[hls @ 0x1] Opening 'live_000001.ts' for writing", urls) is None
