"""Stream keys: wrong ones from one address are throttled, with a message the encoder and the
studio show; and no key ever reaches the log, whatever is published, right or wrong.

The right key from a throttled address is refused too, as log-in refuses a right password
after too many wrong ones: otherwise the limit would not slow guessing at all. The studio says
why, and what to do (an old encoder with a previous key is the usual cause)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.backends import REDIS_URL
from tests.browser.conftest import LiveServer, start_server, stop_server
from tests.factories import make_merchant, make_show, make_user
from tests.integration.media.conftest import ffmpeg, font, publish
from tests.web import Browser
from vitrine.app import create_app
from vitrine.config import Settings
from vitrine.core.db import Database
from vitrine.demo import MERCHANT
from vitrine.media import REFUSAL_MESSAGES, Refusal

__all__ = ["ffmpeg", "font"]  # the media tests' fixtures: the bundled ffmpeg, a font

THROTTLED = REFUSAL_MESSAGES[Refusal.THROTTLED]


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A real `vitrine serve` (embedded RTMP front door), logging at DEBUG: every line counts."""
    server = start_server(tmp_path, extra_env={"VITRINE_LOG_LEVEL": "DEBUG"})
    server.vitrine("demo")
    yield server
    stop_server(server)


async def studio_status(server: LiveServer) -> dict[str, Any]:
    """What the studio's go-live panel shows the brand's owner."""
    async with httpx.AsyncClient(base_url=server.url) as owner:
        await owner.get("/login")
        await owner.post(
            "/login",
            data={
                "email": MERCHANT[1],
                "password": MERCHANT[2],
                "_csrf_token": owner.cookies["vitrine_csrf"],
            },
        )
        status: dict[str, Any] = (await owner.get("/studio/1/stream")).json()
    return status


@pytest.mark.media
async def test_wrong_keys_from_one_address_are_throttled_and_no_key_is_ever_logged(
    demo_server: LiveServer, ffmpeg: str, font: str
) -> None:
    show = await demo_server.show()
    rtmp = f"rtmp://127.0.0.1:{demo_server.env['VITRINE_RTMP_PORT']}/live/{show.public_name}"
    right = f"{rtmp}?key={show.stream_key}"
    # the show opens for streaming within a few seconds; the host streams a moment
    for _ in range(40):
        if (await studio_status(demo_server))["open"]:
            break
        await asyncio.sleep(0.5)
    code, _ = await publish(ffmpeg, right, font, seconds=1)
    assert code == 0

    # ten wrong keys are told they are wrong; the eleventh is told to wait
    told = []
    for attempt in range(11):
        code, err = await publish(ffmpeg, f"{rtmp}?key=wrong-{attempt:02d}-{'x' * 24}", font)
        told.append((code != 0, "The stream key is wrong" in err, THROTTLED in err))
    code, err = await publish(ffmpeg, right, font, seconds=1)
    notice = (await studio_status(demo_server))["notice"]
    log = demo_server.log.read_text()

    assert told[:10] == [(True, True, False)] * 10
    assert told[10] == (True, False, True)
    assert code != 0 and THROTTLED in err and "Try again in " in err  # right key, same address
    assert notice == {"message": THROTTLED, "level": "error"}
    assert "refused a publisher at 127.0.0.1 for show 1: too many wrong stream keys" in log
    assert "DEBUG" in log  # the log was written at its most talkative level
    assert show.stream_key not in log
    assert "wrong-00-" not in log  # wrong keys are secrets' neighbours: not logged either


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def nginx_mode_client(
    request: pytest.FixtureRequest, settings: Settings
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """An instance behind nginx-rtmp, its limits in memory or shared on Redis."""
    changes: dict[str, object] = {
        "media_backend": "nginx-rtmp",
        "stream_key_attempts_per_minute": 3,
    }
    if request.param == "redis":
        if not REDIS_URL:
            pytest.skip("Redis not configured: set VITRINE_TEST_REDIS_URL")
        changes |= {"redis_url": REDIS_URL, "redis_prefix": f"vitrine-test-{secrets.token_hex(4)}:"}
    async with AsyncTestClient(create_app(settings.with_changes(**changes))) as client:
        yield client


async def test_nginx_rtmp_callbacks_count_wrong_keys_per_publisher_address(
    nginx_mode_client: AsyncTestClient[Litestar], db: Database
) -> None:
    """nginx calls back from its own address; `addr` is the publisher's, and counts."""
    owner = await make_user(db, "owner@example.com")
    show = await make_show(db, owner, await make_merchant(db, owner, "acme"), hours=0.5)

    studio = Browser(nginx_mode_client)
    await studio.log_in("owner@example.com")

    async def on_publish(key: str, addr: str) -> tuple[int, str]:
        form = {"call": "publish", "name": show.public_name, "key": key, "addr": addr}
        answer = await nginx_mode_client.post("/media/nginx/on_publish", data=form)
        notice = (await studio.get(f"/studio/{show.id}/stream")).json()["notice"]
        return answer.status_code, notice["message"] if notice else ""

    wrong = [await on_publish(f"guess-{n}", "203.0.113.9") for n in range(4)]
    right_from_there = await on_publish(show.stream_key, "203.0.113.9")
    right_from_elsewhere = await on_publish(show.stream_key, "198.51.100.4")

    told_wrong = (403, REFUSAL_MESSAGES[Refusal.WRONG_KEY])
    assert wrong == [told_wrong, told_wrong, told_wrong, (403, THROTTLED)]
    assert right_from_there == (403, THROTTLED)
    assert right_from_elsewhere[0] == 200
