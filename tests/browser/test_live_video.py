"""Issue 3's check in Chromium, against the app: the synthetic source publishes over RTMP (the
demo of `make run`) and over SRT, the viewer page plays the video, the host ends the show and
the replay plays and seeks."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, LiveServer, start_server, stop_server
from tests.browser.live_helpers import OWNER, log_in, new_phone
from vitrine.media.argv import demo_source_argv
from vitrine.media.demo import ffmpeg_path, find_font

pytestmark = pytest.mark.media


async def video_advances(page: Any) -> None:
    """The video element is playing: its clock moves forward."""
    await page.wait_for_function(
        "document.querySelector('video') && document.querySelector('video').currentTime > 0.5",
        timeout=30000,
    )
    first = await page.evaluate("document.querySelector('video').currentTime")
    await page.wait_for_function(
        "(t) => document.querySelector('video').currentTime > t + 1", arg=first, timeout=15000
    )


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[LiveServer]:
    running = start_server(tmp_path, extra_env={"VITRINE_DEMO": "true"})
    yield running
    stop_server(running)


async def test_the_demo_show_plays_live_then_its_replay(
    demo_server: LiveServer, chromium: Any
) -> None:
    viewer = await new_phone(chromium)
    await viewer.goto(f"{demo_server.url}/shows/1")
    await viewer.wait_for_selector("[data-live-show][data-state=live]", timeout=30000)
    await video_advances(viewer)

    host = await (await chromium.new_context(**DESKTOP)).new_page()
    await log_in(host, demo_server, *OWNER)
    await host.goto(f"{demo_server.url}/studio/1")
    await host.wait_for_function(
        "document.querySelector('[data-health-fps]').textContent !== '–'", timeout=20000
    )
    assert "h264" in await host.locator("[data-health-state]").text_content()
    host.once("dialog", lambda dialog: dialog.accept())
    await host.get_by_test_id("end-show").click()
    await host.locator("[data-replay]:not([hidden])").wait_for(timeout=30000)

    await viewer.goto(f"{demo_server.url}/shows/1")
    await viewer.wait_for_selector("[data-live-show][data-state=ended]")
    await viewer.wait_for_function("document.querySelector('video').duration > 3", timeout=20000)
    await viewer.evaluate("document.querySelector('video').currentTime = 2")
    await viewer.evaluate("document.querySelector('video').play()")
    await viewer.wait_for_function(
        "document.querySelector('video').currentTime > 2.5", timeout=15000
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    running = start_server(tmp_path)
    running.vitrine("demo")
    yield running
    stop_server(running)


async def test_a_host_goes_live_over_srt_and_a_wrong_passphrase_is_refused(
    server: LiveServer, chromium: Any, tmp_path: Path
) -> None:
    host = await (await chromium.new_context(**DESKTOP)).new_page()
    await log_in(host, server, *OWNER)
    await host.goto(f"{server.url}/studio/1")
    srt_url = (await host.get_by_test_id("srt-url").text_content()).strip()
    assert re.fullmatch(r"srt://127\.0\.0\.1:\d+\?passphrase=[\w-]{32}&pbkeylen=32", srt_url)

    ffmpeg, font = ffmpeg_path(), find_font()
    assert font is not None, "apt-get install fonts-dejavu-core"

    async def publish(url: str, seconds: float) -> int:
        argv = demo_source_argv(
            ffmpeg,
            url=url,
            start_epoch_s=0,
            fontfile=font,
            size="640x360",
            video_kbps=600,
            duration_s=seconds,
            output_format="mpegts",
        )
        process = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        return await process.wait()

    forged = re.sub(r"passphrase=[\w-]+", "passphrase=" + "x" * 32, srt_url)
    assert await publish(forged, 3) != 0
    await host.get_by_test_id("stream-notice").wait_for()
    assert "key" in (await host.get_by_test_id("stream-notice").text_content()).lower()
    assert not (server.data_dir / "hls" / "1" / "live.m3u8").exists()

    publisher = asyncio.create_task(publish(srt_url, 25))
    viewer = await new_phone(chromium)
    await viewer.goto(f"{server.url}/shows/1")
    await viewer.wait_for_selector("[data-live-show][data-state=live]", timeout=30000)
    await video_advances(viewer)
    publisher.cancel()
