"""The broker and the live channel's outbox across a real Redis restart (a redis-server of the
test's own, stopped and started again on the same port with its append-only file)."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.integration.live.conftest import DictSnapshots
from vitrine.core.broker import RESYNC, Envelope, RedisBroker
from vitrine.deploy.stores import PrivateRedis
from vitrine.live.channel import LiveChannel, show_channel
from vitrine.live.events import Announcement, encode

pytestmark = pytest.mark.cluster


@pytest.fixture
async def broker(private_redis: PrivateRedis) -> AsyncIterator[RedisBroker]:
    made = RedisBroker(private_redis.url, prefix=f"t{secrets.token_hex(3)}:")
    await made.start()
    yield made
    await made.stop()


def note(text: str) -> Announcement:
    return Announcement(announcement_id=text, text=text, at=1)


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(300):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("never happened")


async def test_readers_are_told_to_catch_up_once_redis_is_back(
    private_redis: PrivateRedis, broker: RedisBroker
) -> None:
    async with broker.subscribe("show:1") as batches:
        await broker.append("show:1", [b"before"])
        assert [e.data for e in await asyncio.wait_for(anext(batches), 10)] == [b"before"]

        private_redis.stop()
        await asyncio.sleep(1.5)  # several reconnect attempts fail meanwhile
        assert not await broker.healthy()
        private_redis.start()

        await eventually(broker.healthy)
        last = await broker.append("show:1", [b"after"])
        received: list[Envelope] = []
        while Envelope(last, b"after") not in received:
            received += await asyncio.wait_for(anext(batches), 10)
        assert set(received) == {Envelope(RESYNC, b""), Envelope(last, b"after")}
        assert received[0] == Envelope(RESYNC, b"")  # catch up: what was published meanwhile


async def test_events_committed_while_redis_is_down_are_appended_in_order_when_it_is_back(
    private_redis: PrivateRedis, broker: RedisBroker, shows: DictSnapshots
) -> None:
    channel = LiveChannel(broker, snapshots=shows)
    first = await channel.publish("1", note("one"))

    private_redis.stop()
    assert await channel.publish("1", note("two")) == 0
    assert await channel.publish("1", note("three")) == 0
    assert channel.held_events == 2
    private_redis.start()

    await eventually(lambda: _empty(channel))
    # then the held events, in order, and the show as it is now: other instances delivered
    # theirs in an order nobody knows, and the screen must end on the database's state
    two, three, now = await broker.since(show_channel("1"), first, limit=100) or []
    assert (two, three) == (
        Envelope(first + 1, encode(note("two"))),
        Envelope(first + 2, encode(note("three"))),
    )
    assert (now.seq, snapshot_of(now.data)) == (first + 3, "Spring drop")
    assert await channel.publish("1", note("four")) == first + 4
    await channel.aclose()


async def test_a_full_outbox_drops_the_oldest_and_the_snapshot_carries_their_effect(
    private_redis: PrivateRedis, broker: RedisBroker, shows: DictSnapshots
) -> None:
    channel = LiveChannel(broker, snapshots=shows, outbox_limit=2)
    first = await channel.publish("1", note("one"))

    private_redis.stop()
    for text in ("two", "three", "four"):
        await channel.publish("1", note(text))
    assert (channel.held_events, channel.dropped) == (2, 1)
    private_redis.start()

    await eventually(lambda: _empty(channel))
    three, four, now = await broker.since(show_channel("1"), first, limit=100) or []
    assert (three.data, four.data) == (encode(note("three")), encode(note("four")))
    assert snapshot_of(now.data) == "Spring drop"
    await channel.aclose()


def snapshot_of(data: bytes) -> str:
    """The title of the show in a snapshot as appended (its seq is put in front by the edge)."""
    event = json.loads(data)
    assert (event["type"], "seq" in event) == ("snapshot", False)
    return str(event["show"]["title"])


@pytest.fixture
def shows() -> DictSnapshots:
    made = DictSnapshots()
    made.add_live_show("1")
    return made


async def _empty(channel: LiveChannel) -> bool:
    return channel.held_events == 0 and not channel.held and not channel._to_refresh
