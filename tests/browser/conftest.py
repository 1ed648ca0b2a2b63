"""Browser tests: a real Vitrine server in a subprocess, driven through Debian's Chromium by
Playwright (never `playwright install`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.backends import CHROMIUM, free_udp_base
from vitrine.core.db import Database
from vitrine.shows.models import Show

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
# bypass_csp lets the tests evaluate expressions in pages; the CSP itself has its own tests.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "bypass_csp": True,
}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "bypass_csp": True}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    async def show(self, show_id: int = 1) -> Show:
        """A show as stored in this server's database (1: the demo show)."""
        db = Database(f"sqlite:///{self.data_dir / 'vitrine.db'}")
        try:
            async with db.read() as session:
                show = await session.scalar(select(Show).where(Show.id == show_id))
        finally:
            await db.dispose()
        assert show is not None
        return show

    def vitrine(self, *args: str) -> str:
        """Run a `vitrine` command against this server's database."""
        done = subprocess.run(
            [sys.executable, "-m", "vitrine", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout


def start_server(tmp: Path, *, extra_env: dict[str, str] | None = None) -> LiveServer:
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("VITRINE_")}
    env = {
        **inherited,
        "VITRINE_DATA_DIR": str(tmp / "var"),
        "VITRINE_PORT": str(port),
        "VITRINE_LIVE_PORT": str(free_port()),
        "VITRINE_RTMP_PORT": str(free_port()),
        "VITRINE_SRT_PORT": str(free_udp_base()),
        "VITRINE_HOST": "127.0.0.1",
        "VITRINE_LOG_LEVEL": "WARNING",
        "VITRINE_SECRET_KEY": "browser-test-secret-" + "x" * 30,
        **(extra_env or {}),
    }
    tmp.mkdir(parents=True, exist_ok=True)
    log = tmp / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "vitrine", "serve"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError(f"server did not start: {log.read_text()[-3000:]}")
    return LiveServer(url, tmp / "var", env, process, log)


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path)
    yield server
    stop_server(server)


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    if not CHROMIUM:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


@pytest.fixture
async def page(chromium: Any) -> AsyncIterator[Any]:
    context = await chromium.new_context(**PHONE)
    page = await context.new_page()
    yield page
    await context.close()
