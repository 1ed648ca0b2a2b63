"""Limits that say when to come back: sign-ups per address (here), log-ins and chat (their own
tests), stream keys (test_stream_key_attempts.py); and the limiter they share, in memory and
on Redis."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.backends import REDIS_URL
from tests.web import CSRF_COOKIE, Browser
from vitrine.app import create_app
from vitrine.config import Settings
from vitrine.core.db import Database
from vitrine.core.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter

LIMITERS = ["memory", pytest.param("redis", marks=pytest.mark.redis)]


def _redis_prefix() -> str:
    return f"vitrine-test-{secrets.token_hex(4)}:"


@pytest.fixture(params=LIMITERS)
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        yield MemoryRateLimiter()
        return
    if not REDIS_URL:
        pytest.skip("Redis not configured: set VITRINE_TEST_REDIS_URL")
    client = aioredis.Redis.from_url(REDIS_URL)
    yield RedisRateLimiter(client, prefix=_redis_prefix())
    await client.aclose()


async def test_peeking_counts_nothing_and_tells_the_wait_a_hit_would(
    limiter: RateLimiter,
) -> None:
    peeks = [await limiter.peek("k", limit=3, window_s=60) for _ in range(10)]
    hits = [await limiter.hit("k", limit=3, window_s=60) for _ in range(3)]
    wait_seen = await limiter.peek("k", limit=3, window_s=60)
    refused = await limiter.hit("k", limit=3, window_s=60)

    assert peeks == [0.0] * 10
    assert hits == [0.0, 0.0, 0.0]
    assert 19 < wait_seen <= 20  # three in a burst, then one every 20 s
    assert 19 < refused <= 20
    assert await limiter.peek("another key", limit=3, window_s=60) == 0.0


@pytest.fixture(params=LIMITERS)
async def signup_client(
    request: pytest.FixtureRequest, settings: Settings
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    changes: dict[str, object] = {"signups_per_hour": 3}
    if request.param == "redis":
        if not REDIS_URL:
            pytest.skip("Redis not configured: set VITRINE_TEST_REDIS_URL")
        changes |= {"redis_url": REDIS_URL, "redis_prefix": _redis_prefix()}
    async with AsyncTestClient(create_app(settings.with_changes(**changes))) as client:
        yield client


async def test_one_address_opens_a_few_accounts_an_hour_and_is_told_when_to_come_back(
    signup_client: AsyncTestClient[Litestar], db: Database
) -> None:
    def form(n: int) -> dict[str, str]:
        return {"email": f"n{n}@example.com", "password": "a-long-password", "display_name": "N"}

    typo = await Browser(signup_client).submit("/signup", {**form(0), "email": "not-an-e-mail"})
    opened = [
        (await Browser(signup_client).submit("/signup", form(n))).status_code for n in range(3)
    ]
    refused = await Browser(signup_client).submit("/signup", form(3))
    script = Browser(signup_client)
    await script.get("/login")
    as_json = await script.request(
        "POST",
        "/signup",
        data={**form(4), "_csrf_token": script.cookies[CSRF_COOKIE]},
        headers={"accept": "application/json"},
    )

    assert typo.status_code == 422  # a typo costs no attempt
    assert opened == [303, 303, 303]
    assert refused.status_code == 429
    assert (
        "Too many accounts were opened from your address; you can sign up again in 20 min"
        in refused.text
    )
    assert as_json.status_code == 429
    assert as_json.headers["content-type"] == "application/problem+json"
    assert 1190 <= int(as_json.headers["retry-after"]) <= 1200
