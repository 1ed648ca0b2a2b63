"""Issue 6's check in Chromium: the brand lists one site; a page on that site shows the player
in its iframe, a page on a site not listed gets an empty frame (CSP frame-ancestors)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from tests.browser.conftest import DESKTOP, PHONE, LiveServer, free_port, start_server, stop_server
from tests.browser.live_helpers import OWNER, log_in
from vitrine.accounts.models import Merchant
from vitrine.core.db import Database


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    running = start_server(tmp_path)
    running.vitrine("demo")
    yield running
    stop_server(running)


class MerchantSite:
    """Another origin serving one page with the player's iframe, as a merchant's shop would."""

    def __init__(self, embed_url: str) -> None:
        page = (
            "<!doctype html><html><head><title>Northwind shop</title></head><body>"
            "<h1>Our winter range</h1>"
            f'<iframe id="player" src="{embed_url}" width="640" height="540"></iframe>'
            "</body></html>"
        ).encode()

        class Page(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Page)
        # "localhost" is another site than Vitrine's 127.0.0.1: a third-party frame.
        self.origin = f"http://localhost:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def sites(server: LiveServer) -> Iterator[tuple[MerchantSite, MerchantSite]]:
    listed = MerchantSite(f"{server.url}/embed/brands/northwind")
    unlisted = MerchantSite(f"{server.url}/embed/brands/northwind")
    yield listed, unlisted
    listed.close()
    unlisted.close()


async def test_the_player_shows_on_a_listed_site_and_is_refused_on_another(
    server: LiveServer, sites: tuple[MerchantSite, MerchantSite], chromium: Any
) -> None:
    listed, unlisted = sites
    # Given the brand lists one site on its embed settings page
    owner = await (await chromium.new_context(**DESKTOP)).new_page()
    await log_in(owner, server, *OWNER)
    await owner.goto(f"{server.url}/manage")  # a one-brand owner lands on the brand
    await owner.get_by_role("link", name="Embed", exact=True).click()
    snippet = await owner.get_by_test_id("channel-snippet").input_value()
    assert snippet.startswith(f'<iframe src="{server.url}/embed/brands/northwind" ')
    await owner.fill("#f-embed_origins", listed.origin)
    await owner.get_by_role("button", name="Save").click()
    await owner.get_by_test_id("embed-saved").wait_for()

    # When a shopper opens the listed site, the player plays the channel inside it
    # (no bypass_csp here: the browser enforces the real policy)
    context = await chromium.new_context(**{**PHONE, "bypass_csp": False})
    shopper = await context.new_page()
    await shopper.goto(f"{listed.origin}/")
    frame = shopper.frame_locator("#player")
    assert await frame.get_by_test_id("embed-title").text_content() == "Winter layers, live"
    await frame.get_by_test_id("countdown").wait_for()
    countdown = frame.get_by_test_id("countdown")
    for _ in range(50):  # countdown.js runs inside the frame: the frame's scripts work
        if (await countdown.text_content() or "").startswith("Starts in "):
            break
        await asyncio.sleep(0.1)
    assert (await countdown.text_content() or "").startswith("Starts in ")

    # When the same page is served from a site not listed, the frame stays empty
    refused = await context.new_page()
    messages: list[str] = []
    refused.on("console", lambda message: messages.append(message.text))
    await refused.goto(f"{unlisted.origin}/")
    await asyncio.sleep(2)
    child = next(f for f in refused.frames if f != refused.main_frame)
    assert child.url != f"{server.url}/embed/brands/northwind"
    assert await child.locator("[data-testid=embed]").count() == 0
    assert any("frame-ancestors" in text for text in messages), messages


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[LiveServer]:
    running = start_server(tmp_path, extra_env={"VITRINE_DEMO": "true"})
    yield running
    stop_server(running)


@pytest.mark.media
async def test_the_live_player_follows_the_pins_and_hands_buying_to_a_new_tab(
    demo_server: LiveServer, chromium: Any
) -> None:
    site = MerchantSite(f"{demo_server.url}/embed/shows/1")
    try:
        db = Database(f"sqlite:///{demo_server.data_dir / 'vitrine.db'}")
        async with db.write() as tx:
            await tx.session.execute(
                update(Merchant)
                .where(Merchant.handle == "northwind")
                .values(embed_origins=site.origin)
            )
        await db.dispose()
        # bypass_csp lets the test read the video's clock; the refusal has its own test above
        context = await chromium.new_context(**PHONE)
        shopper = await context.new_page()
        await shopper.goto(f"{site.origin}/")
        frame = next(f for f in shopper.frames if f != shopper.main_frame)
        await frame.wait_for_function(
            "document.querySelector('[data-embed-live] video')?.currentTime > 1", timeout=30000
        )

        host = await (await chromium.new_context(**DESKTOP)).new_page()
        await log_in(host, demo_server, *OWNER)
        await host.goto(f"{demo_server.url}/studio/1")
        await host.locator("[data-pin='3']").click()

        banner = frame.get_by_test_id("shop-banner")
        await banner.wait_for(timeout=30000)
        assert await banner.locator("[data-banner-title]").text_content() == "Trail flask 500 ml"
        async with context.expect_page() as opened:
            await banner.get_by_role("link", name="Buy").click()
        tab = await opened.value
        await tab.wait_for_load_state()
        assert tab.url == f"{demo_server.url}/shows/1#shop"
    finally:
        site.close()
