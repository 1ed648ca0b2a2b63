"""Chromium: a shopper presses Remind me on the demo show; when the show goes live the e-mail
arrives at a local SMTP server and the notification shows in the nav."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, start_server, stop_server
from tests.browser.live_helpers import DEMO_SHOW, sign_up, stream_arrives
from tests.integration.notify.smtp_helpers import SmtpServer, running_smtp, text_of


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from running_smtp()


@pytest.fixture
def server(tmp_path: Path, smtp: SmtpServer) -> Iterator[LiveServer]:
    running = start_server(
        tmp_path,
        extra_env={
            "VITRINE_SMTP_HOST": smtp.host,
            "VITRINE_SMTP_PORT": str(smtp.port),
            # stream_arrives goes live from another process: the server's sweep announces it.
            "VITRINE_NOTIFY_SWEEP_S": "1",
        },
    )
    running.vitrine("demo")
    yield running
    stop_server(running)


async def _first_mail(smtp: SmtpServer, to: str) -> Any:
    for _ in range(300):  # waits for the mail; fails after a generous minute
        received = smtp.mailbox.to(to)
        if received:
            return received[0]
        await asyncio.sleep(0.2)
    raise AssertionError(f"no e-mail reached {to}")


async def _no_sideways_scroll(page: Any) -> bool:
    return bool(
        await page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


async def test_remind_me_then_go_live_sends_the_email_and_lights_the_nav(
    server: LiveServer, smtp: SmtpServer, page: Any
) -> None:
    # given a shopper on the demo show's page, on a phone
    await sign_up(page, server, "ana@example.com", "Ana")
    await page.goto(f"{server.url}/shows/{DEMO_SHOW}")
    assert await _no_sideways_scroll(page)

    # when they press Remind me
    await page.click("[data-remind]")
    await page.wait_for_url(f"{server.url}/shows/{DEMO_SHOW}")
    assert (await page.text_content("[data-remind]") or "").strip() == "✓ Reminder set"

    # and the host's stream arrives
    await stream_arrives(server)

    # then the go-live e-mail reaches the SMTP server, addressed to the shopper
    message = await _first_mail(smtp, "ana@example.com")
    assert message["Subject"] == "Northwind Outfitters is live: Winter layers, live"
    assert f"{server.url}/shows/{DEMO_SHOW}" in text_of(message)
    assert f"{server.url}/unsubscribe/" in text_of(message)

    # and the phone's Menu button shows one unread notification, listed on the notifications
    # page that the bell inside the menu leads to
    await page.goto(f"{server.url}/")
    on_menu = page.locator("[data-menu-toggle] [data-unread]")
    await on_menu.wait_for(state="visible")
    assert await on_menu.text_content() == "1"
    await page.click("[data-menu-toggle]")
    assert await page.locator("[data-notify-bell] [data-unread]").text_content() == "1"
    await page.click("[data-notify-bell]")
    await page.wait_for_url(f"{server.url}/notifications")
    item = page.locator("[data-testid=notifications] li").first
    assert "Northwind Outfitters is live: Winter layers, live" in (await item.text_content() or "")
    assert await _no_sideways_scroll(page)
    assert len(smtp.mailbox.messages) == 1


async def test_search_and_categories_fit_a_phone(server: LiveServer, page: Any) -> None:
    for path in ("/", "/search?q=winter", "/categories", "/search?q=" + "x" * 101):
        await page.goto(f"{server.url}{path}")
        assert await _no_sideways_scroll(page), path
    await page.goto(f"{server.url}/search?q=WINTER")
    assert await page.text_content("[data-testid=show-total]") == "1"
