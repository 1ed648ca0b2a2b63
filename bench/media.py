"""Media benchmark: one live copy stream through the embedded backend, and its peer (the same
stream transcoded to the ABR ladder) in the same run. Prints one JSON object.

    .venv/bin/python bench/media.py            # 720p30 at 2.5 Mbit/s, 20 s measured
    .venv/bin/python bench/media.py --smoke    # 360p, a few seconds

cpu_pct_per_copy_stream: CPU of the show's ffmpeg (copy to HLS) in % of one core, from
/proc/<pid>/stat over the measured window; front_door_cpu_pct: the app process (RTMP front
door parsing chunks into FLV) over the same window, before the browser is started. first_segment_s: encoder start to the
first segment listed in live.m3u8. dropped_frames_pct: frames the encoder published vs frames
in the recorded HLS. glass_to_glass_s: measured in Chromium (when /usr/bin/chromium exists)
as Date.now() minus the PROGRAM-DATE-TIME of the frame on screen (player.js), plus the
ingest offset (first segment's PROGRAM-DATE-TIME minus the source clock at its first frame),
median of samples taken every 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import imageio_ffmpeg

from vitrine.media.argv import demo_source_argv
from vitrine.media.config import MediaConfig
from vitrine.media.demo import find_font
from vitrine.media.embedded import EmbeddedBackend
from vitrine.media.hls import resolve_hls, vod_playlist
from vitrine.media.model import Refusal, ShowStream, StopReason, StreamHealth

ROOT = Path(__file__).resolve().parent.parent
PLAYER_JS = ROOT / "src/vitrine/web/static/js/player.js"
HLS_JS = ROOT / "node_modules/hls.js/dist/hls.min.mjs"
CHROMIUM = "/usr/bin/chromium"
KEY = "bench-key-0123456789abcdef"


class Listener:
    def __init__(self) -> None:
        self.started: dict[int, float] = {}

    async def stream_started(self, show_id: int, *, resumed: bool) -> None:
        self.started.setdefault(show_id, time.monotonic())

    async def stream_interrupted(self, show_id: int) -> None: ...

    async def stream_stopped(self, show_id: int, reason: StopReason) -> None: ...

    async def stream_health(self, show_id: int, health: StreamHealth) -> None: ...

    async def stream_refused(self, show_id: int | None, name: str, reason: Refusal) -> None:
        print(f"refused {show_id} {name} {reason}", file=sys.stderr)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def first_pdt(playlist: Path) -> float | None:
    for line in playlist.read_text().splitlines():
        if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            return datetime.strptime(line.split(":", 1)[1], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    return None


def closed_copy(event: Path) -> Path:
    playlist = event.with_name("count.m3u8")
    playlist.write_text(vod_playlist(event.read_text()))
    return playlist


def can_run_chromium() -> bool:
    return Path(CHROMIUM).exists() and HLS_JS.exists()


async def frames_in(ffmpeg: str, event: Path) -> int:
    """Video frames recorded (read through a closed copy: ffmpeg would wait on an EVENT list)."""
    playlist = closed_copy(event)
    proc = await asyncio.create_subprocess_exec(
        ffmpeg, "-hide_banner", "-nostdin", "-i", playlist.name, "-map", "0:v:0", "-c", "copy",
        "-f", "null", "-", cwd=playlist.parent,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    found = re.findall(r"frame=\s*(\d+)", err.decode())
    return int(found[-1]) if found else 0


def serve_static(hls_root: Path) -> ThreadingHTTPServer:
    """A throwaway web server: the player page, player.js, hls.js and the HLS files."""

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None: ...

        def do_GET(self) -> None:
            if self.path.startswith("/hls/"):
                found = resolve_hls(hls_root, self.path[5:].split("?")[0])
                if found is None or not found.path.exists():
                    self.send_error(404)
                    return
                body, ctype, cache = (
                    found.path.read_bytes(),
                    found.content_type,
                    found.cache_control,
                )
            elif self.path == "/player.js":
                body, ctype, cache = PLAYER_JS.read_bytes(), "text/javascript", "no-cache"
            elif self.path == "/hls.min.mjs":
                body, ctype, cache = HLS_JS.read_bytes(), "text/javascript", "no-cache"
            elif self.path.startswith("/watch"):
                body = PAGE.encode()
                ctype, cache = "text/html", "no-cache"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Cache-Control", cache)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(hls_root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


PAGE = """<!doctype html><meta charset=utf-8><body style="margin:0;background:#000">
<div class=player><video style="width:640px"></video></div>
<script type=module>
import { createPlayer } from "/player.js";
const src = new URLSearchParams(location.search).get("src");
window.player = createPlayer(document.querySelector(".player"),
  { src, live: true, hlsModule: "/hls.min.mjs" });
</script>"""


async def glass_to_glass(hls_root: Path, show_id: int, seconds: float) -> dict[str, Any]:
    if not can_run_chromium():
        return {
            "glass_to_glass_s": None,
            "glass_to_glass_note": "needs /usr/bin/chromium and npm install",
        }
    from playwright.async_api import async_playwright

    server = serve_static(hls_root)
    url = f"http://127.0.0.1:{server.server_address[1]}/watch?src=/hls/{show_id}/live.m3u8"
    samples: list[float] = []
    quality: dict[str, int] = {}
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM, args=["--autoplay-policy=no-user-gesture-required"]
            )
            page = await browser.new_page()
            await page.goto(url)
            await page.wait_for_function(
                "window.player && window.player.programDateTime() !== null", timeout=30000
            )
            t_end = time.monotonic() + seconds
            while time.monotonic() < t_end:
                lag = await page.evaluate("Date.now() - window.player.programDateTime()")
                samples.append(lag / 1000)
                await asyncio.sleep(0.5)
            quality = await page.evaluate(
                "(() => { const q = window.player.video.getVideoPlaybackQuality();"
                " return {total: q.totalVideoFrames, dropped: q.droppedVideoFrames}; })()"
            )
            clock = await clock_lags(page, samples=12)
            await browser.close()
    finally:
        server.shutdown()
    return {"player_lag_s": round(statistics.median(samples), 3) if samples else None,
            "player_frames": quality, **clock}  # fmt: skip


CLOCK = re.compile(r"(\d{2}):(\d{2}):(\d{2})[.,](\d{3})")


async def clock_lags(page: Any, *, samples: int) -> dict[str, Any]:
    """Glass to glass as the issue defines it: the clock burnt into the source's pictures,
    read with OCR from screenshots of the playing video, against the time of the screenshot."""
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        return {"clock_note": "apt-get install tesseract-ocr to read the burnt-in clock"}
    lags: list[float] = []
    unread = 0
    for _ in range(samples):
        before = time.time()
        png = await page.screenshot(clip={"x": 0, "y": 0, "width": 420, "height": 90})
        after = time.time()
        run = await asyncio.create_subprocess_exec(
            tesseract, "stdin", "stdout", "--psm", "7",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        text, _ = await run.communicate(png)
        found = CLOCK.search(text.decode(errors="replace"))
        if found is None:
            unread += 1
            continue
        hours, minutes, seconds, millis = (int(part) for part in found.groups())
        shown = hours * 3600 + minutes * 60 + seconds + millis / 1000
        taken = (before + after) / 2
        lag = (taken % 86400) - shown
        lag += 86400 if lag < -43200 else -86400 if lag > 43200 else 0  # across midnight UTC
        lags.append(lag)
        await asyncio.sleep(0.4)
    return {
        "clock_glass_to_glass_s": round(statistics.median(lags), 3) if lags else None,
        "clock_samples": len(lags),
        "clock_unread": unread,
    }


async def run_stream(
    backend: EmbeddedBackend, listener: Listener, ffmpeg: str, font: str, show_id: int,
    *, size: str, kbps: int, warmup_s: float, measure_s: float, browser: bool,
) -> dict[str, Any]:  # fmt: skip
    cfg = backend.config
    live = cfg.show_dir(show_id) / "live.m3u8"
    start_epoch = time.time()
    t0 = time.monotonic()
    total_s = warmup_s + measure_s + (measure_s + 40 if browser else 2)
    source = await asyncio.create_subprocess_exec(
        *demo_source_argv(ffmpeg, url=f"rtmp://127.0.0.1:{backend.rtmp_port}/live/show{show_id}?key={KEY}",
                          start_epoch_s=start_epoch, fontfile=font, size=size, fps=30,
                          video_kbps=kbps, duration_s=total_s),
        stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    first_segment_s = None
    while time.monotonic() - t0 < 20:
        if live.exists() and "#EXTINF" in live.read_text():
            first_segment_s = time.monotonic() - t0
            break
        await asyncio.sleep(0.02)
    pipeline = backend._pipelines[show_id]
    await asyncio.sleep(max(0.0, warmup_s - (time.monotonic() - t0)))
    copy = pipeline._copy
    abr = pipeline._abr
    assert copy is not None and copy.proc is not None
    pids = {"copy": copy.proc.pid} | ({"abr": abr.proc.pid} if abr and abr.proc else {})
    before = {k: cpu_seconds(p) for k, p in pids.items()}
    own_before, w0 = own_cpu_seconds(), time.monotonic()
    await asyncio.sleep(measure_s)  # no viewer in the process meanwhile: a clean CPU figure
    wall = time.monotonic() - w0
    cpu = {k: 100 * (cpu_seconds(p) - before[k]) / wall for k, p in pids.items()}
    own = 100 * (own_cpu_seconds() - own_before) / wall
    g2g: dict[str, Any] = await glass_to_glass(cfg.hls_root, show_id, measure_s) if browser else {}
    if browser:
        source.terminate()  # the encoder ran long enough for the browser; stop it cleanly
    await source.wait()
    await asyncio.sleep(1.0)
    published = pipeline.meter.frames
    event = cfg.show_dir(show_id) / "event.m3u8"
    written = await frames_in(cfg.ffmpeg, event)
    pdt = first_pdt(event)
    return {
        "first_segment_s": None if first_segment_s is None else round(first_segment_s, 3),
        "cpu": {k: round(v, 2) for k, v in cpu.items()},
        "front_door_cpu_pct": round(own, 2),
        "frames_published": published,
        "frames_written": written,
        "ingest_offset_s": None if pdt is None else round(pdt - start_epoch, 3),
        **g2g,
    }


async def main(smoke: bool) -> dict[str, Any]:
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    font = find_font()
    if font is None:
        raise SystemExit("no font for drawtext: apt-get install fonts-dejavu-core")
    data = Path(tempfile.mkdtemp(prefix="vitrine-bench-"))
    cfg = MediaConfig(ffmpeg=ffmpeg, data_dir=data, rtmp_host="127.0.0.1", rtmp_port=0,
                      srt_port_count=0)  # fmt: skip
    listener = Listener()
    backend = EmbeddedBackend(cfg, listener)
    await backend.start()
    size, kbps = ("640x360", 800) if smoke else ("1280x720", 2500)
    warmup, measure = (2.0, 3.0) if smoke else (4.0, 20.0)
    try:
        await backend.open_show(ShowStream(1, "show1", KEY))
        copy = await run_stream(backend, listener, ffmpeg, font, 1, size=size, kbps=kbps,
                                warmup_s=warmup, measure_s=measure, browser=not smoke)  # fmt: skip
        await backend.open_show(ShowStream(2, "show2", KEY, abr=True))
        peer = await run_stream(backend, listener, ffmpeg, font, 2, size=size, kbps=kbps,
                                warmup_s=warmup, measure_s=min(measure, 8.0), browser=False)  # fmt: skip
    finally:
        await backend.stop()
        shutil.rmtree(data, ignore_errors=True)
    dropped = (
        100 * (1 - copy["frames_written"] / copy["frames_published"])
        if copy["frames_published"]
        else None
    )
    lag = copy.get("player_lag_s")
    offset = copy.get("ingest_offset_s") or 0.0
    frames = copy.get("player_frames") or {}
    return {
        "bench": "media",
        "smoke": smoke,
        "source": f"{size}@30 libx264 {kbps}k + aac 128k over RTMP (front door)",
        "cpu_pct_per_copy_stream": copy["cpu"]["copy"],
        "front_door_cpu_pct": copy["front_door_cpu_pct"],
        "first_segment_s": copy["first_segment_s"],
        "dropped_frames_pct": None if dropped is None else round(max(dropped, 0.0), 3),
        "player_dropped_frames_pct": round(100 * frames["dropped"] / frames["total"], 3)
        if frames.get("total")
        else None,
        "glass_to_glass_s": copy.get("clock_glass_to_glass_s"),
        "glass_to_glass_method": "Chromium: the clock burnt into the source, read by OCR"
        " (tesseract) from screenshots of the playing video, against the screenshot's time",
        "glass_to_glass_samples": copy.get("clock_samples"),
        "pdt_glass_to_glass_s": None if lag is None else round(lag + offset, 3),
        "ingest_offset_s": copy["ingest_offset_s"],
        "frames": {"published": copy["frames_published"], "written": copy["frames_written"]},
        "peer_abr_ladder": {
            "cpu_pct_transcode": peer["cpu"].get("abr"),
            "cpu_pct_copy_alongside": peer["cpu"]["copy"],
            "first_segment_s": peer["first_segment_s"],
        },
        "cores": os.cpu_count(),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny run (CI)")
    if os.environ.get("BENCH_DEBUG"):
        import faulthandler

        faulthandler.dump_traceback_later(30)
    result = asyncio.run(main(parser.parse_args().smoke))
    print(json.dumps(result))
