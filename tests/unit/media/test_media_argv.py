"""Golden tests: the exact ffmpeg argument lists (no ffmpeg is run here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vitrine.media.argv import (
    abr_argv,
    clock_text,
    demo_source_argv,
    live_copy_argv,
    recordings_replay_argv,
    replay_mp4_argv,
    srt_ingest_argv,
    srt_url,
)
from vitrine.media.model import SimulcastTarget
from vitrine.media.replay import concat_list

HEAD = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "info", "-nostats"]
FLV_STDIN = ["-probesize", "65536", "-analyzeduration", "500000", "-f", "flv", "-i", "pipe:0"]
LIVE = (
    "[f=hls:hls_time=1:hls_list_size=6"
    ":hls_flags=delete_segments+program_date_time+temp_file+omit_endlist"
    ":hls_segment_filename=live_%06d.ts]live.m3u8"
)
EVENT = (
    "[f=hls:hls_time=1:hls_list_size=0:hls_playlist_type=event"
    ":hls_flags=program_date_time+temp_file+omit_endlist"
    ":hls_segment_filename=rec_%06d.ts]event.m3u8"
)


def test_live_copy_argv_copies_into_a_live_and_an_event_playlist() -> None:
    # given a fresh show, when the argv is built
    argv = live_copy_argv("ffmpeg", segment_s=1, live_window=6)
    # then it copies (no transcoding) FLV from stdin into two HLS outputs through tee
    assert argv == [
        *HEAD,
        "-progress", "pipe:1", "-stats_period", "1",
        "-fflags", "+genpts",
        *FLV_STDIN,
        "-map", "0:v:0", "-map", "0:a:0?",
        "-c", "copy",
        "-f", "tee", f"{LIVE}|{EVENT}",
    ]  # fmt: skip


def test_live_copy_argv_resuming_appends_after_a_discontinuity() -> None:
    argv = live_copy_argv("ffmpeg", segment_s=2, live_window=4, resume=True)
    assert argv[-1] == (
        "[f=hls:hls_time=2:hls_list_size=4:hls_flags=delete_segments+program_date_time"
        "+temp_file+omit_endlist+append_list+discont_start:hls_segment_filename=live_%06d.ts]"
        "live.m3u8|[f=hls:hls_time=2:hls_list_size=0:hls_playlist_type=event"
        ":hls_flags=program_date_time+temp_file+omit_endlist+append_list+discont_start"
        ":hls_segment_filename=rec_%06d.ts]event.m3u8"
    )


def test_simulcast_destinations_are_tee_slaves_that_may_fail() -> None:
    # given two destinations, one with a character tee would split on
    targets = [
        SimulcastTarget("yt", "rtmp://a.rtmp.youtube.com/live2/abcd-efgh"),
        SimulcastTarget("odd", "rtmp://h.example/app/k|ey"),
    ]
    # when the argv is built, then each is an FLV slave with onfail=ignore, escaped
    argv = live_copy_argv("ffmpeg", segment_s=1, live_window=6, simulcast=targets)
    assert argv[-1] == (
        f"{LIVE}|{EVENT}"
        "|[f=flv:onfail=ignore:flvflags=no_duration_filesize]rtmp://a.rtmp.youtube.com/live2/abcd-efgh"
        "|[f=flv:onfail=ignore:flvflags=no_duration_filesize]rtmp://h.example/app/k\\|ey"
    )


def test_abr_ladder_argv() -> None:
    argv = abr_argv("ffmpeg", segment_s=1, live_window=6, session=1700000000)
    assert argv == [
        *HEAD,
        *FLV_STDIN,
        "-filter_complex",
        "[0:v]split=3[s0][s1][s2];[s0]scale=-2:720[v0];[s1]scale=-2:480[v1];[s2]scale=-2:360[v2]",
        "-map", "[v0]", "-map", "0:a:0",
        "-map", "[v1]", "-map", "0:a:0",
        "-map", "[v2]", "-map", "0:a:0",
        "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
        "-sc_threshold", "0", "-force_key_frames", "expr:gte(t,n_forced*1)",
        "-b:v:0", "2800k", "-maxrate:v:0", "2800k", "-bufsize:v:0", "5600k",
        "-b:v:1", "1400k", "-maxrate:v:1", "1400k", "-bufsize:v:1", "2800k",
        "-b:v:2", "800k", "-maxrate:v:2", "800k", "-bufsize:v:2", "1600k",
        "-c:a", "copy",
        "-f", "hls", "-hls_time", "1", "-hls_list_size", "6",
        "-hls_flags", "delete_segments+program_date_time+temp_file+independent_segments",
        "-master_pl_name", "abr.m3u8",
        "-var_stream_map", "v:0,a:0,name:720p v:1,a:1,name:480p v:2,a:2,name:360p",
        "-hls_segment_filename", "abr_%v_1700000000_%06d.ts",
        "abr_%v.m3u8",
    ]  # fmt: skip


def test_srt_ingest_argv_listens_with_the_key_as_passphrase() -> None:
    argv = srt_ingest_argv("ffmpeg", host="0.0.0.0", port=9001, passphrase="k" * 32)
    assert argv == [
        *HEAD,
        "-probesize", "500000", "-analyzeduration", "1000000",
        "-i",
        f"srt://0.0.0.0:9001?mode=listener&passphrase={'k' * 32}&pbkeylen=32&latency=200000",
        "-map", "0:v:0", "-map", "0:a:0?",
        "-c", "copy", "-f", "flv", "-flvflags", "no_duration_filesize", "pipe:1",
    ]  # fmt: skip


@pytest.mark.parametrize("passphrase", ["short", "x" * 80])
def test_srt_passphrases_outside_10_to_79_characters_are_rejected(passphrase: str) -> None:
    with pytest.raises(ValueError, match="10 to 79"):
        srt_url("h", 1, passphrase, listener=False)


def test_replay_mp4_argv_remuxes_with_faststart() -> None:
    assert replay_mp4_argv("ffmpeg") == [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-i", "replay.m3u8", "-map", "0:v:0", "-map", "0:a:0?",
        "-c", "copy", "-bsf:a", "aac_adtstoasc", "-movflags", "+faststart", "replay.mp4",
    ]  # fmt: skip


def test_clock_text_shows_utc_time_of_day_with_milliseconds() -> None:
    # 2026-01-01T10:00:00.250Z is 36000.25 s after midnight
    assert clock_text(1767261600.25) == "%{pts\\:hms\\:36000.250} UTC"


def test_demo_source_argv() -> None:
    argv = demo_source_argv(
        "ffmpeg",
        url="rtmp://127.0.0.1:1935/live/demo?key=k",
        start_epoch_s=1767261600.25,
        fontfile="/f.ttf",
        duration_s=3,
    )
    assert argv == [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning",
        "-re", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
        "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", "3",
        "-vf",
        "drawtext=fontfile=/f.ttf:text='%{pts\\:hms\\:36000.250} UTC':fontsize=64"
        ":fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=12:x=40:y=40",
        "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
        "-g", "30", "-keyint_min", "30", "-sc_threshold", "0",
        "-b:v", "2000k", "-maxrate", "2000k", "-bufsize", "2000k",
        "-c:a", "aac", "-b:a", "128k", "-ar", "48000",
        "-f", "flv", "rtmp://127.0.0.1:1935/live/demo?key=k",
    ]  # fmt: skip


def test_recordings_replay_argv_makes_an_mp4_and_a_vod_playlist_in_one_pass() -> None:
    assert recordings_replay_argv("ffmpeg", concat_list="recordings.txt", segment_s=1) == [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "concat", "-safe", "0", "-i", "recordings.txt",
        "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy",
        "-f", "tee",
        "[f=mp4:movflags=+faststart]replay.mp4"
        "|[f=hls:hls_time=1:hls_list_size=0:hls_playlist_type=vod"
        ":hls_segment_filename=rec_%06d.ts]replay.m3u8",
    ]  # fmt: skip


def test_concat_lists_quote_file_names() -> None:
    files = [Path("/rec/a-1.flv"), Path("/rec/it's-2.flv")]
    assert concat_list(files) == "file '/rec/a-1.flv'\nfile '/rec/it'\\''s-2.flv'\n"
