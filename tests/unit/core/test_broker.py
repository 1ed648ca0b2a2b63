"""The broker on each backend: numbering, the log readers resume from, fan-out, counts.
Redis runs when VITRINE_TEST_REDIS_URL is set, under a key prefix removed afterwards."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator

import pytest

from vitrine.core.broker import (
    Batch,
    Broker,
    Envelope,
    MemoryBroker,
    RedisBroker,
    broker_from_url,
)

REDIS_URL = os.environ.get("VITRINE_TEST_REDIS_URL", "")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    made: Broker
    prefix = f"vitrine-test-{secrets.token_hex(4)}:"
    if request.param == "memory":
        made = MemoryBroker(log_size=8)
    else:
        if not REDIS_URL:
            pytest.skip("Redis not configured: set VITRINE_TEST_REDIS_URL")
        made = RedisBroker(REDIS_URL, prefix=prefix, log_size=8)
    await made.start()
    yield made
    await made.stop()
    if request.param == "redis":
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(REDIS_URL)
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def next_batch(batches: AsyncIterator[list[Envelope]]) -> list[Envelope]:
    return await asyncio.wait_for(anext(batches), 5)


async def test_appended_messages_are_numbered_in_order_and_delivered(broker: Broker) -> None:
    async with broker.subscribe("show:1") as batches:
        last = await broker.append("show:1", [b'{"a":1}', b'{"a":2}'])
        received: list[Envelope] = []
        while len(received) < 2:
            received += await next_batch(batches)

    assert received == [Envelope(last - 1, b'{"a":1}'), Envelope(last, b'{"a":2}')]
    assert await broker.last_seq("show:1") == last


async def test_plain_messages_are_delivered_unnumbered(broker: Broker) -> None:
    async with broker.subscribe("show:1") as batches:
        await broker.publish("show:1", b"tally")
        received = await next_batch(batches)

    assert received == [Envelope(0, b"tally")]


async def test_channels_are_separate(broker: Broker) -> None:
    async with broker.subscribe("show:1") as one, broker.subscribe("show:2") as two:
        await broker.append("show:2", [b"for two"])
        await broker.append("show:1", [b"for one"])

        assert [e.data for e in await next_batch(one)] == [b"for one"]
        assert [e.data for e in await next_batch(two)] == [b"for two"]


async def test_a_reader_fetches_what_it_missed(broker: Broker) -> None:
    first = await broker.append("show:1", [b"a"])
    await broker.append("show:1", [b"b", b"c"])

    missed = await broker.since("show:1", first, limit=100)

    assert missed == [Envelope(first + 1, b"b"), Envelope(first + 2, b"c")]


async def test_since_zero_means_since_the_channel_began(broker: Broker) -> None:
    last = await broker.append("show:1", [b"a", b"b"])

    assert await broker.since("show:1", 0, limit=100) == [
        Envelope(last - 1, b"a"),
        Envelope(last, b"b"),
    ]


async def test_a_reader_up_to_date_misses_nothing(broker: Broker) -> None:
    last = await broker.append("show:1", [b"a"])

    assert await broker.since("show:1", last, limit=100) == []


async def test_a_reader_too_far_behind_is_told_to_take_a_snapshot(broker: Broker) -> None:
    first = await broker.append("show:1", [b"first"])
    # The log keeps 8 (Redis trims approximately, whole stream nodes of 100 at a time).
    await broker.append("show:1", [b"x"] * 300)

    assert await broker.since("show:1", first, limit=100) is None
    assert await broker.since("show:1", first, limit=5) is None


async def test_a_reader_ahead_of_the_log_is_told_to_take_a_snapshot(broker: Broker) -> None:
    last = await broker.append("show:1", [b"a"])

    assert await broker.since("show:1", last + 50, limit=100) is None


async def test_viewer_counts_are_summed_over_instances(broker: Broker) -> None:
    await broker.report_count("viewers:1", "edge-a", 120, ttl_s=30)
    total = await broker.report_count("viewers:1", "edge-b", 30, ttl_s=30)
    after_a_left = await broker.report_count("viewers:1", "edge-a", 0, ttl_s=30)

    assert (total, after_a_left) == (150, 30)


async def test_a_dead_instance_stops_counting_after_its_ttl(broker: Broker) -> None:
    await broker.report_count("viewers:1", "edge-dead", 500, ttl_s=0.05)
    await asyncio.sleep(0.1)

    assert await broker.report_count("viewers:1", "edge-alive", 7, ttl_s=30) == 7


async def test_numbers_continue_across_broker_instances_on_the_same_store(broker: Broker) -> None:
    if isinstance(broker, MemoryBroker):
        pytest.skip("the in-process broker is one instance by definition")
    assert isinstance(broker, RedisBroker)
    other = RedisBroker(REDIS_URL, prefix=broker._prefix)
    await other.start()
    try:
        one = await broker.append("show:1", [b"from a"])
        two = await other.append("show:1", [b"from b"])
    finally:
        await other.stop()

    assert two == one + 1


def test_the_backend_is_picked_from_the_url() -> None:
    assert isinstance(broker_from_url(""), MemoryBroker)
    assert isinstance(broker_from_url("memory://"), MemoryBroker)
    assert isinstance(broker_from_url("redis://127.0.0.1:6379/0"), RedisBroker)
    with pytest.raises(ValueError, match="unknown broker URL"):
        broker_from_url("kafka://nope")


async def test_the_counter_never_hands_out_a_number_twice(broker: Broker) -> None:
    last = await broker.append("show:1", [b"a"])

    assert await broker.advance("show:1", last + 100) == last + 100
    assert await broker.advance("show:1", last) == last + 100
    assert await broker.append("show:1", [b"b"]) == last + 101


async def test_a_retried_batch_is_appended_once(broker: Broker) -> None:
    first = await broker.append("show:1", [b"a"], batch=Batch("writer-1", 1))
    # the answer was lost on the way and the writer sends the same batch again
    again = await broker.append("show:1", [b"a"], batch=Batch("writer-1", 1))
    after = await broker.append("show:1", [b"b"], batch=Batch("writer-1", 2))

    assert again == first
    assert await broker.since("show:1", first, limit=100) == [Envelope(first + 1, b"b")]
    assert after == first + 1


async def test_batches_of_different_writers_never_mask_each_other(broker: Broker) -> None:
    one = await broker.append("show:1", [b"a"], batch=Batch("writer-1", 5))
    two = await broker.append("show:1", [b"b"], batch=Batch("writer-2", 1))

    assert two == one + 1
