"""Pure builders of ffmpeg argument lists. Nothing here runs a process; golden tests pin them.

The HLS processes run with the show's directory (<data_dir>/hls/<show_id>/) as their working
directory, so every output path is relative and the argv does not depend on where data lives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vitrine.media.model import SimulcastTarget

LIVE_PLAYLIST = "live.m3u8"
EVENT_PLAYLIST = "event.m3u8"
REPLAY_PLAYLIST = "replay.m3u8"
REPLAY_MP4 = "replay.mp4"
ABR_MASTER = "abr.m3u8"


@dataclass(frozen=True, slots=True)
class Rendition:
    name: str
    height: int
    video_kbps: int


ABR_LADDER: tuple[Rendition, ...] = (
    Rendition("720p", 720, 2800),
    Rendition("480p", 480, 1400),
    Rendition("360p", 360, 800),
)


def _common(ffmpeg: str) -> list[str]:
    return [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "info", "-nostats"]


def _flv_from_stdin() -> list[str]:
    """The front door pipes the publisher's FLV in; probe little so the first segment is fast."""
    return ["-probesize", "65536", "-analyzeduration", "500000", "-f", "flv", "-i", "pipe:0"]


def _progress() -> list[str]:
    return ["-progress", "pipe:1", "-stats_period", "1"]


def hls_slaves(segment_s: int, live_window: int, *, resume: bool) -> list[str]:
    """The two HLS outputs of a live show: a short live window and the event playlist (replay).

    `omit_endlist`: a publisher that drops may come back within the grace period, so players
    must keep polling; `resume` appends to the playlists of an earlier session after a
    discontinuity (segment numbers continue, so cached segments are never replaced).
    """
    flags = "program_date_time+temp_file+omit_endlist"
    if resume:
        flags += "+append_list+discont_start"
    live = (
        f"[f=hls:hls_time={segment_s}:hls_list_size={live_window}"
        f":hls_flags=delete_segments+{flags}"
        ":hls_segment_filename=live_%06d.ts]" + LIVE_PLAYLIST
    )
    event = (
        f"[f=hls:hls_time={segment_s}:hls_list_size=0:hls_playlist_type=event"
        f":hls_flags={flags}"
        ":hls_segment_filename=rec_%06d.ts]" + EVENT_PLAYLIST
    )
    return [live, event]


def simulcast_slave(target: SimulcastTarget) -> str:
    """One simulcast destination: FLV over RTMP; a failure there never stops the show."""
    return "[f=flv:onfail=ignore:flvflags=no_duration_filesize]" + target.url.replace(
        "|", "\\|"
    ).replace("[", "\\[")


def live_copy_argv(
    ffmpeg: str,
    *,
    segment_s: int,
    live_window: int,
    resume: bool = False,
    simulcast: Sequence[SimulcastTarget] = (),
) -> list[str]:
    """ffmpeg reading FLV on stdin, copying H.264/AAC into HLS (+ simulcast) without transcoding."""
    slaves = hls_slaves(segment_s, live_window, resume=resume) + [
        simulcast_slave(t) for t in simulcast
    ]
    return [
        *_common(ffmpeg),
        *_progress(),
        "-fflags",
        "+genpts",
        *_flv_from_stdin(),
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-c",
        "copy",
        "-f",
        "tee",
        "|".join(slaves),
    ]


def abr_argv(
    ffmpeg: str,
    *,
    segment_s: int,
    live_window: int,
    session: int,
    ladder: Sequence[Rendition] = ABR_LADDER,
) -> list[str]:
    """ffmpeg reading FLV on stdin and transcoding an ABR ladder (libx264 veryfast) + master.

    `session` (e.g. the publish start time) keeps segment names unique across reconnects, so
    an immutable cached segment is never replaced.
    """
    n = len(ladder)
    split = f"[0:v]split={n}" + "".join(f"[s{i}]" for i in range(n))
    scales = [f"[s{i}]scale=-2:{r.height}[v{i}]" for i, r in enumerate(ladder)]
    argv = [
        *_common(ffmpeg),
        *_flv_from_stdin(),
        "-filter_complex",
        ";".join([split, *scales]),
    ]
    for i in range(n):
        argv += ["-map", f"[v{i}]", "-map", "0:a:0"]
    argv += [
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-tune",
        "zerolatency",
        "-pix_fmt",
        "yuv420p",
        "-sc_threshold",
        "0",
        "-force_key_frames",
        f"expr:gte(t,n_forced*{segment_s})",
    ]
    for i, r in enumerate(ladder):
        argv += [
            f"-b:v:{i}",
            f"{r.video_kbps}k",
            f"-maxrate:v:{i}",
            f"{r.video_kbps}k",
            f"-bufsize:v:{i}",
            f"{r.video_kbps * 2}k",
        ]
    argv += [
        "-c:a",
        "copy",
        "-f",
        "hls",
        "-hls_time",
        str(segment_s),
        "-hls_list_size",
        str(live_window),
        "-hls_flags",
        "delete_segments+program_date_time+temp_file+independent_segments",
        "-master_pl_name",
        ABR_MASTER,
        "-var_stream_map",
        " ".join(f"v:{i},a:{i},name:{r.name}" for i, r in enumerate(ladder)),
        "-hls_segment_filename",
        f"abr_%v_{session}_%06d.ts",
        "abr_%v.m3u8",
    ]
    return argv


def srt_url(host: str, port: int, passphrase: str, *, listener: bool) -> str:
    """SRT URL with AES-256 and the stream key as passphrase (10-79 characters)."""
    if not 10 <= len(passphrase) <= 79:
        raise ValueError("an SRT passphrase must have 10 to 79 characters")
    mode = "listener" if listener else "caller"
    return f"srt://{host}:{port}?mode={mode}&passphrase={passphrase}&pbkeylen=32&latency=200000"


def srt_ingest_argv(ffmpeg: str, *, host: str, port: int, passphrase: str) -> list[str]:
    """ffmpeg listening for one SRT publisher and re-muxing its stream to FLV on stdout."""
    return [
        *_common(ffmpeg),
        "-probesize",
        "500000",
        "-analyzeduration",
        "1000000",
        "-i",
        srt_url(host, port, passphrase, listener=True),
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-c",
        "copy",
        "-f",
        "flv",
        "-flvflags",
        "no_duration_filesize",
        "pipe:1",
    ]


def replay_mp4_argv(
    ffmpeg: str, *, playlist: str = REPLAY_PLAYLIST, mp4: str = REPLAY_MP4
) -> list[str]:
    """Remux the VOD playlist into a faststart MP4 for the merchant (no transcoding)."""
    return [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-i",
        playlist,
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-c",
        "copy",
        "-bsf:a",
        "aac_adtstoasc",
        "-movflags",
        "+faststart",
        mp4,
    ]


def recordings_replay_argv(ffmpeg: str, *, concat_list: str, segment_s: int) -> list[str]:
    """nginx-rtmp recordings (FLV files listed in a concat file) -> replay MP4 and VOD HLS."""
    return [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        concat_list,
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-c",
        "copy",
        "-f",
        "tee",
        f"[f=mp4:movflags=+faststart]{REPLAY_MP4}"
        f"|[f=hls:hls_time={segment_s}:hls_list_size=0:hls_playlist_type=vod"
        f":hls_segment_filename=rec_%06d.ts]{REPLAY_PLAYLIST}",
    ]


def clock_text(start_epoch_s: float) -> str:
    """drawtext text showing the UTC wall clock with milliseconds, from the frame's pts."""
    offset = start_epoch_s % 86400
    return f"%{{pts\\:hms\\:{offset:.3f}}} UTC"


def demo_source_argv(
    ffmpeg: str,
    *,
    url: str,
    start_epoch_s: float,
    fontfile: str,
    size: str = "1280x720",
    fps: int = 30,
    video_kbps: int = 2000,
    duration_s: float | None = None,
    output_format: str = "flv",
) -> list[str]:
    """A synthetic host: test pattern with a burnt-in UTC clock and a 440 Hz tone, real time."""
    draw = (
        f"drawtext=fontfile={fontfile}:text='{clock_text(start_epoch_s)}'"
        ":fontsize=64:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=12:x=40:y=40"
    )
    argv = [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "warning",
        "-re",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate={fps}",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
    ]
    if duration_s is not None:
        argv += ["-t", f"{duration_s:g}"]
    argv += [
        "-vf",
        draw,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-tune",
        "zerolatency",
        "-pix_fmt",
        "yuv420p",
        "-g",
        str(fps),
        "-keyint_min",
        str(fps),
        "-sc_threshold",
        "0",
        "-b:v",
        f"{video_kbps}k",
        "-maxrate",
        f"{video_kbps}k",
        "-bufsize",
        f"{video_kbps}k",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-ar",
        "48000",
        "-f",
        output_format,
        url,
    ]
    return argv
