"""Steps shared by the live-channel browser tests."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.browser.conftest import PHONE, LiveServer
from vitrine.core.db import Database
from vitrine.shows.live_state import ShowLifecycle

DEMO_SHOW = 1
OWNER = ("owner@northwind.example", "northwind-demo")


async def stream_arrives(server: LiveServer, show_id: int = DEMO_SHOW) -> None:
    """What the media backend reports when the host's encoder connects."""
    db = Database(f"sqlite:///{server.data_dir / 'vitrine.db'}")
    try:
        await ShowLifecycle(db).stream_arrived(show_id)
    finally:
        await db.dispose()


async def log_in(page: Any, server: LiveServer, email: str, password: str) -> None:
    await page.goto(f"{server.url}/login")
    await page.fill("#f-email", email)
    await page.fill("#f-password", password)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(f"{server.url}/")


async def sign_up(page: Any, server: LiveServer, email: str, name: str) -> None:
    await page.goto(f"{server.url}/signup")
    await page.fill("#f-display_name", name)
    await page.fill("#f-email", email)
    await page.fill("#f-password", "a-long-password")
    await page.click("form[action='/signup'] button[type=submit]")
    await page.wait_for_url(f"{server.url}/")


async def new_phone(chromium: Any) -> Any:
    context = await chromium.new_context(**PHONE)
    return await context.new_page()


async def watch(page: Any, server: LiveServer, show_id: int = DEMO_SHOW) -> None:
    await page.goto(f"{server.url}/shows/{show_id}")
    await page.wait_for_function("window.vitrineLive && window.vitrineLive.status === 'live'")


async def post(page: Any, text: str) -> None:
    await page.fill("[data-chat-input]", text)
    await page.press("[data-chat-input]", "Enter")


async def settle() -> None:
    await asyncio.sleep(0.3)
