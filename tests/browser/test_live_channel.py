"""A host and two viewers in Chromium: pins, chat, questions, moderation, and a viewer whose
connection drops resuming without missing anything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, LiveServer, start_server, stop_server
from tests.browser.live_helpers import (
    DEMO_SHOW,
    OWNER,
    log_in,
    new_phone,
    post,
    sign_up,
    stream_arrives,
    watch,
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    # Without video in this test, pins are shown as they arrive (no wait for the picture).
    running = start_server(tmp_path, extra_env={"VITRINE_SYNC_PRODUCT_EVENTS": "false"})
    running.vitrine("demo")
    yield running
    stop_server(running)


async def test_a_host_and_two_viewers_run_a_live_show(server: LiveServer, chromium: Any) -> None:
    await stream_arrives(server)
    host = await (await chromium.new_context(**DESKTOP)).new_page()
    await log_in(host, server, *OWNER)
    await host.goto(f"{server.url}/studio/{DEMO_SHOW}")
    await host.wait_for_function("window.vitrineLive && window.vitrineLive.status === 'live'")

    ana, ben = await new_phone(chromium), await new_phone(chromium)
    await sign_up(ana, server, "ana@example.com", "Ana")
    await sign_up(ben, server, "ben@example.com", "Ben")
    await watch(ana, server)
    await watch(ben, server)
    await host.wait_for_function("document.querySelector('[data-viewers]').textContent === '3'")

    # Pin: the shop banner appears for everyone.
    await host.click("[data-pin='2']")
    for viewer in (ana, ben):
        banner = viewer.locator("[data-testid=shop-banner]")
        await banner.wait_for(state="visible")
        assert await banner.locator("[data-banner-title]").text_content() == "Waxed field jacket"

    # Chat and a question the host answers.
    await post(ana, "Does the jacket come in navy?")
    line = ben.locator("[data-testid=chat] .chat-line", has_text="Does the jacket come in navy?")
    await line.wait_for()
    await ana.click("text=Ask as question")
    await line.locator(".question-badge").wait_for(state="visible")
    question = host.locator("[data-testid=questions] li", has_text="Does the jacket come in navy?")
    await question.wait_for()
    await question.get_by_role("button", name="Mark answered").click()
    await ben.locator(".chat-line.answered", has_text="navy").wait_for()
    await question.wait_for(state="detached")

    # Moderation: a removed message disappears for everyone; a banned viewer is told why.
    await post(ben, "cheap followers at spam.example")
    spam = host.locator("[data-testid=studio-chat] .chat-line", has_text="spam.example")
    await spam.wait_for()
    await spam.get_by_role("button", name="Remove").click()
    await ana.locator(".chat-line", has_text="spam.example").wait_for(state="detached")
    host.once("dialog", lambda dialog: dialog.accept())
    await (
        host.locator("[data-testid=studio-chat] .chat-line", has_text="navy")
        .get_by_role("button", name="Ban")
        .click()
    )
    await ana.wait_for_timeout(300)
    await post(ana, "hello again")
    await ana.locator("[data-toast]", has_text="You were banned from this brand's chats").wait_for()

    # Ana's phone drops off the network; meanwhile the host pins another product and Ben
    # chats. On reconnect Ana resumes from her last event and misses nothing.
    before = await ana.evaluate("window.vitrineLive.lastSeq")
    await ana.evaluate("window.vitrineLive.socket.close()")
    await host.click("[data-pin='3']")
    await post(ben, "Ordered the flask!")
    await ana.wait_for_function("window.vitrineLive.status === 'live'")
    await ana.locator(".chat-line", has_text="Ordered the flask!").wait_for()
    assert await ana.locator("[data-banner-title]").text_content() == "Trail flask 500 ml"
    assert await ana.evaluate("window.vitrineLive.lastSeq") > before
    assert await ana.locator(".chat-line", has_text="Ordered the flask!").count() == 1
