"""No HTML or script from a chat message is ever interpreted, for viewers or in the studio."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, LiveServer, start_server, stop_server
from tests.browser.live_helpers import OWNER, log_in, new_phone, sign_up, stream_arrives, watch

PAYLOADS = [
    "<script>window.__xss = 1</script>",
    '<img src=x onerror="window.__xss = 2">',
    "<svg onload=window.__xss=3>",
    '"><iframe src="javascript:window.parent.__xss=4">',
    '<a href="javascript:window.__xss=5">click</a>',
    "<body onload=window.__xss=6>",
    "<details open ontoggle=window.__xss=7>",
    "{{constructor.constructor('window.__xss=8')()}}",
    "<style>*{display:none}</style>",
    "&lt;b&gt;entities&lt;/b&gt;",
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    running = start_server(tmp_path)
    running.vitrine("demo")
    yield running
    stop_server(running)


async def test_chat_messages_render_as_text_never_as_markup(
    server: LiveServer, chromium: Any
) -> None:
    await stream_arrives(server)
    viewer, mallory, trudy = [await new_phone(chromium) for _ in range(3)]
    # Two authors, five messages each: within the chat's flood guard.
    await sign_up(mallory, server, "mallory@example.com", "Mallory")
    await sign_up(trudy, server, "trudy@example.com", "Trudy")
    for page in (mallory, trudy, viewer):
        await watch(page, server)
    host = await (await chromium.new_context(**DESKTOP)).new_page()
    await log_in(host, server, *OWNER)
    await host.goto(f"{server.url}/studio/1")

    for index, payload in enumerate(PAYLOADS):
        author = mallory if index % 2 == 0 else trudy
        await author.evaluate("(text) => window.vitrineLive.post(text)", payload)
    for page, chat in ((viewer, "[data-testid=chat]"), (host, "[data-testid=studio-chat]")):
        await page.wait_for_function(
            "([selector, n]) => document.querySelectorAll(selector).length >= n",
            arg=[f"{chat} .chat-line", len(PAYLOADS)],
        )
        texts = await page.locator(f"{chat} .chat-line .text").all_text_contents()
        assert [text.strip() for text in texts] == PAYLOADS
        assert await page.evaluate("window.__xss === undefined")
        assert (
            await page.locator(
                f"{chat} img, {chat} svg, {chat} iframe, {chat} script, {chat} style, {chat} a[href^=javascript]"
            ).count()
            == 0
        )
