"""Issue 6's check in Chromium: the host pins two products during a real (synthetic) stream, a
shopper chats, the show ends; on the replay, the timeline jumps to a product, the chat follows
the video back and forth, and the shopper buys the product from its sheet."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE, LiveServer, start_server, stop_server
from tests.browser.live_helpers import OWNER, log_in, post
from vitrine.core.db import Database
from vitrine.shows.models import Show
from vitrine.shows.pins import replay_playlist_text, replay_timeline

pytestmark = pytest.mark.media

SHOPPER = ("shopper@vitrine.local", "vitrine-shopper")
BEANIE, FLASK = 1, 3  # the demo lineup
QUESTION = "Does the flask keep tea hot?"


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[LiveServer]:
    running = start_server(tmp_path, extra_env={"VITRINE_DEMO": "true"})
    yield running
    stop_server(running)


async def pin(host: Any, product_id: int) -> None:
    """Pin from the studio and wait until the studio shows it pinned."""
    await host.locator(f"[data-pin='{product_id}']").click()
    await host.wait_for_function(
        f"document.querySelector(\"[data-pin='{product_id}']\").textContent === 'Pinned'"
    )


async def markers_on_the_recording(server: LiveServer, show_id: int) -> dict[int, float]:
    """Where each pin belongs on the recording: the time the server stamped it, placed by the
    recording's PROGRAM-DATE-TIME (the mapping itself is tested in tests/integration/replay)."""
    db = Database(f"sqlite:///{server.data_dir / 'vitrine.db'}")
    try:
        async with db.read() as session:
            show = await session.get(Show, show_id)
        assert show is not None
        playlist = replay_playlist_text(server.data_dir, show_id)
        timeline = await replay_timeline(db, show, playlist)
    finally:
        await db.dispose()
    return {pin.product_id: pin.offset_s for pin in timeline.pins}


async def test_a_replay_jumps_to_a_product_on_its_timeline_and_buys_it(
    demo_server: LiveServer, chromium: Any
) -> None:
    # Given the demo show live, a host in the studio and a shopper watching
    host = await (await chromium.new_context(**DESKTOP)).new_page()
    await log_in(host, demo_server, *OWNER)
    await host.goto(f"{demo_server.url}/studio/1")
    await host.wait_for_function(
        "document.querySelector('[data-health-fps]').textContent !== '–'", timeout=30000
    )
    shopper = await (await chromium.new_context(**PHONE)).new_page()
    await log_in(shopper, demo_server, *SHOPPER)
    await shopper.goto(f"{demo_server.url}/shows/1")
    await shopper.wait_for_function(
        "window.vitrineLive && window.vitrineLive.status === 'live'", timeout=30000
    )

    # When the host pins the beanie, the shopper asks a question, the host pins the flask
    await pin(host, BEANIE)
    await asyncio.sleep(3)
    await post(shopper, QUESTION)
    await shopper.get_by_test_id("chat").get_by_text(QUESTION).wait_for()
    await asyncio.sleep(2)
    await pin(host, FLASK)
    await asyncio.sleep(4)
    host.once("dialog", lambda dialog: dialog.accept())
    await host.get_by_test_id("end-show").click()
    await host.locator("[data-replay]:not([hidden])").wait_for(timeout=30000)

    # Then the show page leads to the replay, whose timeline has both products
    await shopper.goto(f"{demo_server.url}/shows/1")
    await shopper.get_by_test_id("replay-link").click()
    await shopper.wait_for_url(f"{demo_server.url}/shows/1/replay")
    await shopper.wait_for_function(
        "document.querySelector('[data-replay] video').duration > 8", timeout=30000
    )
    # on a 390 px phone nothing sticks out sideways
    assert await shopper.evaluate("document.documentElement.scrollWidth") <= 390
    markers = shopper.locator("[data-marker]")
    assert await markers.count() == 2
    beanie_offset = float(
        await shopper.get_by_test_id(f"marker-{BEANIE}").get_attribute("data-offset")
    )
    flask_offset = float(
        await shopper.get_by_test_id(f"marker-{FLASK}").get_attribute("data-offset")
    )
    # each marker sits where the recording shows the moment it was pinned, in pin order
    assert {BEANIE: beanie_offset, FLASK: flask_offset} == await markers_on_the_recording(
        demo_server, 1
    )
    assert 0 <= beanie_offset < flask_offset
    assert await shopper.get_by_test_id(f"marker-{FLASK}").text_content() is not None

    # When the shopper taps the flask on the timeline, the video jumps there
    await shopper.get_by_test_id(f"marker-{FLASK}").click()
    position = await shopper.evaluate("document.querySelector('[data-replay] video').currentTime")
    assert flask_offset <= position < flask_offset + 2
    sheet = shopper.locator(f"[data-product-card='{FLASK}']")
    assert await sheet.get_attribute("aria-current") == "true"
    await shopper.wait_for_function(
        f"document.querySelector('[data-replay]').dataset.nowShowing === '{FLASK}'"
    )
    assert "Trail flask 500 ml" in await shopper.get_by_test_id("now-showing").text_content()
    # and the chat is where it was when the flask was pinned: the question was asked before
    chat = shopper.get_by_test_id("replay-chat")
    assert await chat.locator(".chat-line .text").all_text_contents() == [QUESTION]

    # When the shopper goes back to the beanie, the question has not been asked yet
    await shopper.get_by_test_id(f"marker-{BEANIE}").click()
    await shopper.wait_for_function(
        "document.querySelector('[data-replay-chat]').children.length === 0"
    )
    assert await sheet.get_attribute("aria-current") == "false"

    # And the shopper buys the flask from its sheet
    await shopper.get_by_test_id(f"marker-{FLASK}").click()
    await shopper.get_by_test_id(f"add-{FLASK}").click()
    added = sheet.locator("[data-added]")
    await added.wait_for()
    assert (await added.text_content()).startswith("Added · 1 in your cart")
    await added.get_by_role("link", name="View cart").click()
    await shopper.wait_for_url(f"{demo_server.url}/cart")
    assert "Trail flask 500 ml" in await shopper.content()
    await shopper.goto(f"{demo_server.url}/checkout")
    for name, value in {
        "name": "Ana Shopper",
        "line1": "1 Rue de la Paix",
        "postal_code": "75002",
        "city": "Paris",
        "country": "FR",
    }.items():
        await shopper.fill(f"#f-{name}", value)
    await shopper.get_by_test_id("place-order").click()
    await shopper.get_by_test_id("pay-form").wait_for()
    await shopper.fill("#f-card_number", "4242 4242 4242 4242")
    await shopper.get_by_test_id("pay").click()
    await shopper.wait_for_function(
        "document.querySelector('[data-order-status]')?.dataset.orderStatus === 'paid'",
        timeout=20000,
    )
