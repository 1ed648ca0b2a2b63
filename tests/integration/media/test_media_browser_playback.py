"""Chromium plays what the backend writes: live over RTMP and SRT, then the replay.

The viewer page of the app is not needed here: a throwaway server serves player.js, hls.js
and the HLS files through `resolve_hls` (the same mapping the web layer uses).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.integration.media.conftest import KEY, RecordingListener, publish, show
from tests.waiting import wait_until
from vitrine.media.config import MediaConfig
from vitrine.media.demo import srt_publish_url
from vitrine.media.embedded import EmbeddedBackend
from vitrine.media.hls import resolve_hls

ROOT = Path(__file__).resolve().parents[3]
PLAYER_JS = ROOT / "src/vitrine/web/static/js/player.js"
HLS_JS = ROOT / "node_modules/hls.js/dist/hls.min.mjs"
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.media,
    pytest.mark.browser,
    pytest.mark.anyio,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(not HLS_JS.exists(), reason="hls.js is not installed (npm install)"),
]

PAGE = b"""<!doctype html><meta charset=utf-8><body>
<div class=player><video style="width:320px"></video></div>
<script type=module>
import { createPlayer } from "/player.js";
const q = new URLSearchParams(location.search);
window.player = createPlayer(document.querySelector(".player"),
  { src: q.get("src"), live: q.get("live") === "1", hlsModule: "/hls.min.mjs" });
</script>"""


@pytest.fixture
def site(config: MediaConfig) -> Iterator[str]:
    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None: ...

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            ctype, cache = "text/javascript", "no-cache"
            if path.startswith("/hls/"):
                found = resolve_hls(config.hls_root, path[5:])
                if found is None or not found.path.exists():
                    self.send_error(404)
                    return
                body, ctype, cache = (
                    found.path.read_bytes(),
                    found.content_type,
                    found.cache_control,
                )
            elif path == "/player.js":
                body = PLAYER_JS.read_bytes()
            elif path == "/hls.min.mjs":
                body = HLS_JS.read_bytes()
            else:
                body, ctype = PAGE, "text/html"
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Cache-Control", cache)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(config.hls_root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=["--autoplay-policy=no-user-gesture-required"]
        )
        yield await browser.new_page()
        await browser.close()


async def plays(page: Any) -> None:
    """The video's currentTime advances by a second (bounded waits only)."""
    await page.wait_for_function(
        "window.player && window.player.video.currentTime > 0.5", timeout=30000
    )
    start = await page.evaluate("window.player.video.currentTime")
    await page.wait_for_function(f"window.player.video.currentTime > {start + 1}", timeout=15000)


async def test_chromium_plays_an_rtmp_show_live_then_its_replay(
    backend: EmbeddedBackend, listener: RecordingListener, config: MediaConfig,
    ffmpeg: str, font: str, site: str, page: Any,
) -> None:  # fmt: skip
    # given a show live over RTMP
    await backend.open_show(show())
    host = asyncio.create_task(
        publish(
            ffmpeg,
            f"rtmp://127.0.0.1:{backend.rtmp_port}/live/spring-drop?key={KEY}",
            font,
            seconds=12,
        )
    )
    await wait_until(lambda: (config.show_dir(7) / "live.m3u8").exists())
    # when a viewer opens it, then the video plays, and the frame's wall-clock time is known
    await page.goto(f"{site}/watch?src=/hls/7/live.m3u8&live=1")
    await plays(page)
    assert await page.evaluate("window.player.programDateTime() > Date.now() - 30000")
    # a product event stamped 1 s ahead of the picture is held until the picture reaches it
    held = await page.evaluate(
        """async () => {
          const at = window.player.programDateTime() + 1000;
          await window.player.holdUntil(at);
          return window.player.programDateTime() - at;
        }"""
    )
    assert 0 <= held < 1000
    assert await page.evaluate("document.querySelector('.player__unmute').hidden") is False
    # when the host ends the show, then the replay plays and seeks
    assert (await host)[0] == 0
    recording = await backend.close_show(7)
    assert recording is not None
    await page.goto(f"{site}/watch?src=/hls/7/replay.m3u8&live=0")
    await page.wait_for_function("window.player.video.duration > 11", timeout=20000)
    await page.evaluate("window.player.video.currentTime = 8")
    await page.wait_for_function("window.player.video.currentTime > 9", timeout=15000)


async def test_chromium_plays_an_srt_show_live(
    backend: EmbeddedBackend, config: MediaConfig, ffmpeg: str, font: str, site: str, page: Any
) -> None:
    # given a show live over SRT
    await backend.open_show(show())
    port = backend.srt_port(7)
    assert port is not None
    await asyncio.sleep(0.5)
    host = asyncio.create_task(
        publish(
            ffmpeg,
            srt_publish_url("127.0.0.1", port, KEY),
            font,
            seconds=10,
            output_format="mpegts",
        )
    )
    await wait_until(lambda: (config.show_dir(7) / "live.m3u8").exists())
    # when a viewer opens it, then the video plays
    await page.goto(f"{site}/watch?src=/hls/7/live.m3u8&live=1")
    await plays(page)
    assert (await host)[0] == 0
