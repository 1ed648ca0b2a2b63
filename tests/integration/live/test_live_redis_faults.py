"""What the edge does when Redis pub/sub lets it down: viewers still miss nothing, because
every event is also in the show's stream and the edge fetches any gap from it."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from tests.integration.live.conftest import (
    FAST,
    REDIS_URL,
    DictSnapshots,
    SmallChat,
    TokenIdentify,
    Watch,
)
from vitrine.core.broker import RedisBroker
from vitrine.live import LiveChannel, LiveEdge
from vitrine.live.events import ProductPinned, encode

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not REDIS_URL, reason="Redis not configured: set VITRINE_TEST_REDIS_URL"),
]


def pin(product_id: str) -> ProductPinned:
    return ProductPinned(
        product_id=product_id, title="Shirt", price_minor=100, currency="EUR", at=1
    )


class RedisStage:
    def __init__(self) -> None:
        self.prefix = f"vitrine-test-{secrets.token_hex(4)}:"
        self.name = f"vitrine-edge-{secrets.token_hex(4)}"
        self.snapshots = DictSnapshots()
        self.snapshots.add_live_show("s1")
        self.brokers: list[RedisBroker] = []
        self.edges: list[LiveEdge] = []
        self.admin = aioredis.Redis.from_url(REDIS_URL)

    async def broker(self) -> RedisBroker:
        broker = RedisBroker(REDIS_URL, prefix=self.prefix, client_name=self.name)
        await broker.start()
        self.brokers.append(broker)
        return broker

    async def edge(self, broker: RedisBroker) -> LiveEdge:
        edge = LiveEdge(
            broker, TokenIdentify(), self.snapshots, SmallChat(LiveChannel(broker)), settings=FAST
        )
        await edge.start("127.0.0.1", 0)
        self.edges.append(edge)
        return edge

    async def kill_pubsub_connections(self) -> int:
        """Cut this test's pub/sub connections only (other users of this Redis are left alone)."""
        killed = 0
        for client in await self.admin.client_list():
            if client.get("name") == self.name and client.get("cmd") in ("subscribe", "ssubscribe"):
                await self.admin.client_kill_filter(_id=client["id"])
                killed += 1
        return killed

    async def close(self) -> None:
        for edge in self.edges:
            await edge.stop()
        for broker in self.brokers:
            await broker.stop()
        keys = [key async for key in self.admin.scan_iter(match=f"{self.prefix}*")]
        if keys:
            await self.admin.delete(*keys)
        await self.admin.aclose()


@pytest.fixture
async def redis_stage() -> AsyncIterator[RedisStage]:
    made = RedisStage()
    yield made
    await made.close()


async def test_viewers_miss_nothing_when_pubsub_drops_mid_show(
    redis_stage: RedisStage, watch: Watch
) -> None:
    edge = await redis_stage.edge(await redis_stage.broker())
    publisher = LiveChannel(await redis_stage.broker())
    viewer = await watch(f"ws://127.0.0.1:{edge.port}/shows/s1/live")
    first = await publisher.publish("s1", pin("p1"))
    await viewer.next_of("product_pinned", skip=("snapshot",))

    assert await redis_stage.kill_pubsub_connections() >= 1
    for number in range(2, 6):
        await publisher.publish("s1", pin(f"p{number}"))
        await asyncio.sleep(0.05)

    seen = [await viewer.next_of("product_pinned") for _ in range(4)]
    assert [event["seq"] for event in seen] == [first + 1, first + 2, first + 3, first + 4]
    assert [event["product_id"] for event in seen] == ["p2", "p3", "p4", "p5"]


async def test_an_event_lost_by_pubsub_is_fetched_from_the_stream(
    redis_stage: RedisStage, watch: Watch
) -> None:
    broker = await redis_stage.broker()
    edge = await redis_stage.edge(broker)
    viewer = await watch(f"ws://127.0.0.1:{edge.port}/shows/s1/live")
    first = await LiveChannel(broker).publish("s1", pin("p1"))
    await viewer.next_of("product_pinned", skip=("snapshot",))

    # Numbered and stored as the Lua script does, but never published: a lost message.
    prefix = redis_stage.prefix
    await redis_stage.admin.set(f"{prefix}seq:show:s1", first + 1)
    await redis_stage.admin.xadd(
        f"{prefix}log:show:s1", {"d": encode(pin("p2"))}, id=f"{first + 1}-0"
    )

    lost = await viewer.next_of("product_pinned")
    assert (lost["seq"], lost["product_id"]) == (first + 1, "p2")
