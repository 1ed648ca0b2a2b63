"""A live show served by a real LiveEdge, with small real stand-ins for what the domains
implement: a snapshot source over a dict, an identify over a token table, and a chat that
publishes what it accepts through LiveChannel.

Every test runs on the in-process broker and, when VITRINE_TEST_REDIS_URL is set, on Redis
(under a key prefix of its own, removed afterwards)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
from websockets.asyncio.client import ClientConnection, connect

from vitrine.core.broker import Broker, MemoryBroker, RedisBroker
from vitrine.core.errors import Conflict, NotFound
from vitrine.live import ActionRefused, EdgeSettings, LiveChannel, LiveEdge, LiveRequest
from vitrine.live.events import (
    Announcement,
    ChatMessage,
    QuestionMarked,
    ShowSnapshot,
    ShowState,
    Viewer,
)

REDIS_URL = os.environ.get("VITRINE_TEST_REDIS_URL", "")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


BROKERS = ["memory", pytest.param("redis", marks=pytest.mark.redis)]


@dataclass
class Brokers:
    """Makes brokers of one kind that share state, like several instances on one Redis."""

    kind: str
    prefix: str = field(default_factory=lambda: f"vitrine-test-{secrets.token_hex(4)}:")
    made: list[Broker] = field(default_factory=list)
    memory: MemoryBroker | None = None

    async def make(self) -> Broker:
        broker: Broker
        if self.kind == "memory":
            # One process: every "instance" shares the same in-process broker.
            if self.memory is None:
                self.memory = MemoryBroker()
                await self.memory.start()
                self.made.append(self.memory)
            return self.memory
        broker = RedisBroker(REDIS_URL, prefix=self.prefix)
        await broker.start()
        self.made.append(broker)
        return broker

    async def close(self) -> None:
        for broker in self.made:
            await broker.stop()
        if self.kind == "redis":
            import redis.asyncio as aioredis

            client = aioredis.Redis.from_url(REDIS_URL)
            keys = [key async for key in client.scan_iter(match=f"{self.prefix}*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()


@pytest.fixture(params=BROKERS)
async def brokers(request: pytest.FixtureRequest) -> AsyncIterator[Brokers]:
    if request.param == "redis" and not REDIS_URL:
        pytest.skip("Redis not configured: set VITRINE_TEST_REDIS_URL")
    made = Brokers(request.param)
    yield made
    await made.close()


class DictSnapshots:
    """The shows domain, reduced to a dict of snapshots."""

    def __init__(self) -> None:
        self.shows: dict[str, ShowSnapshot] = {}
        self.calls = 0
        self.held: asyncio.Event | None = None  # when set by a test: answers wait for it

    def add_live_show(self, show_id: str, title: str = "Spring drop") -> None:
        self.shows[show_id] = ShowSnapshot(
            show=ShowState(show_id=show_id, state="live", title=title, started_at=1)
        )

    async def snapshot(self, show_id: str) -> ShowSnapshot:
        self.calls += 1
        if self.held is not None:
            await self.held.wait()
        try:
            return self.shows[show_id]
        except KeyError:
            raise NotFound(f"There is no show {show_id}.") from None


class TokenIdentify:
    """The web layer, reduced to a token table; no token means a guest."""

    def __init__(self) -> None:
        self.tokens: dict[str, Viewer] = {}

    def sign_in(self, user_id: str, name: str, *roles: str) -> str:
        token = secrets.token_hex(8)
        self.tokens[token] = Viewer(user_id=user_id, display_name=name, roles=frozenset(roles))
        return token

    async def identify(self, request: LiveRequest) -> Viewer:
        token = request.query.get("token") or request.cookies.get("session")
        if token is None:
            return Viewer(user_id=None, display_name="Guest")
        try:
            return self.tokens[token]
        except KeyError:
            raise ActionRefused("not_signed_in", "Your session has expired.") from None


class SmallChat:
    """The chat domain, reduced to a slow mode and a ban list; accepted messages are published
    through the live channel like the real one does after commit."""

    def __init__(self, channel: LiveChannel) -> None:
        self.channel = channel
        self.ended: set[str] = set()
        self.slow_mode_s = 0.0
        self.banned: set[str] = set()
        self.last_post: dict[str, float] = {}

    async def post_chat(self, show_id: str, viewer: Viewer, text: str) -> None:
        assert viewer.user_id is not None
        if show_id in self.ended:
            raise Conflict("The show has ended; the chat is closed.")
        if viewer.user_id in self.banned:
            raise ActionRefused("banned", "You are banned from this merchant's shows.")
        now = time.monotonic()
        wait = self.last_post.get(viewer.user_id, -1e9) + self.slow_mode_s - now
        if wait > 0:
            raise ActionRefused(
                "slow_mode", f"Slow mode: you can post again in {wait:.0f} s", retry_after_s=wait
            )
        self.last_post[viewer.user_id] = now
        await self.channel.publish(
            show_id,
            ChatMessage(
                message_id=secrets.token_hex(4),
                author_id=viewer.user_id,
                author_name=viewer.display_name,
                text=text,
                sent_at=int(time.time() * 1000),
            ),
        )

    async def mark_question(self, show_id: str, viewer: Viewer, message_id: str) -> None:
        await self.channel.publish(show_id, QuestionMarked(message_id=message_id))


# Two writer threads from two viewers on: every test here runs the threaded write path.
FAST = EdgeSettings(
    tick_s=0.02,
    heartbeat_s=0.5,
    viewer_count_interval_s=0.1,
    hello_timeout_s=2,
    writer_threads=2,
    threaded_write_from=2,
)


# The two ways the edge writes a frame to a room: from the event loop alone, or spread over
# writer threads (from two viewers on, so that small test rooms take it too).
WRITE_PATHS = [
    pytest.param({"writer_threads": 1}, id="loop-writes"),
    pytest.param({"writer_threads": 2, "threaded_write_from": 2}, id="threaded-writes"),
]


@dataclass
class Instance:
    """One running app instance: its broker, publishing channel and edge."""

    broker: Broker
    channel: LiveChannel
    edge: LiveEdge
    chat: SmallChat

    def url(self, show_id: str, token: str | None = None) -> str:
        query = f"?token={token}" if token else ""
        return f"ws://127.0.0.1:{self.edge.port}/shows/{show_id}/live{query}"


@dataclass
class Stage:
    """What a test needs: shows, users, and instances started on demand."""

    brokers: Brokers
    snapshots: DictSnapshots
    identify: TokenIdentify
    instances: list[Instance] = field(default_factory=list)

    async def instance(self, settings: EdgeSettings = FAST) -> Instance:
        broker = await self.brokers.make()
        channel = LiveChannel(broker)
        chat = SmallChat(channel)
        edge = LiveEdge(broker, self.identify, self.snapshots, chat, settings=settings)
        await edge.start("127.0.0.1", 0)
        made = Instance(broker, channel, edge, chat)
        self.instances.append(made)
        return made


@pytest.fixture
async def stage(brokers: Brokers) -> AsyncIterator[Stage]:
    made = Stage(brokers, DictSnapshots(), TokenIdentify())
    made.snapshots.add_live_show("s1")
    yield made
    for instance in made.instances:
        await instance.edge.stop()


class Watcher:
    """A viewer's WebSocket, reading frames (JSON arrays) event by event."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.last_seq: int | None = None

    async def hello(self, last_seq: int | None = None) -> dict[str, Any]:
        await self.ws.send(json.dumps({"type": "hello", "last_seq": last_seq}))
        return await self.next_of("welcome")

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def next_event(self) -> dict[str, Any]:
        while not self.events:
            frame = await self.ws.recv()
            batch = json.loads(frame)
            assert isinstance(batch, list)
            self.events.extend(batch)
        event = self.events.pop(0)
        if event["type"] == "snapshot" or "seq" in event:
            self.last_seq = event["seq"]
        return event

    async def next_of(self, *types: str, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        """The next event of one of `types`, ignoring heartbeats, counts and tallies."""
        ignorable = ("heartbeat", "viewer_count", "reactions", *skip)
        while True:
            event = await self.next_event()
            if event["type"] in types:
                return event
            assert event["type"] in ignorable, f"expected {types}, got {event}"

    async def until(self, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        while True:
            event = await self.next_event()
            if check(event):
                return event


Watch = Callable[..., Awaitable[Watcher]]


@pytest.fixture
async def watch() -> AsyncIterator[Watch]:
    """Open a viewer connection: `await watch(url)` → Watcher (closed after the test)."""
    opened: list[ClientConnection] = []

    async def open_(
        url: str, hello: bool = True, last_seq: int | None = None, **options: Any
    ) -> Watcher:
        ws = await connect(url, max_size=2**22, **options)
        opened.append(ws)
        watcher = Watcher(ws)
        if hello:
            await watcher.hello(last_seq)
        return watcher

    yield open_
    for ws in opened:
        await ws.close()


async def publish_until_lagging(instance: Instance, show_id: str) -> int:
    """Publish big announcements until a viewer who stopped reading falls behind: its socket
    and then its transport fill up. Returns the seq of the first one."""
    room = instance.edge.rooms[show_id]
    big = "x" * 60_000
    first = 0
    published = 0
    while not room.lagging:
        seq = await instance.channel.publish(
            show_id, Announcement(announcement_id=str(published), text=big, at=1)
        )
        first = first or seq
        published += 1
        await asyncio.sleep(0.02)
        assert published < 2000, "the slow viewer never fell behind"
    return first


def decode(data: bytes) -> Any:
    return msgspec.json.decode(data)
