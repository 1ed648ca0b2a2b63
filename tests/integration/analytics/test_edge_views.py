"""The live edge tells its view hook who joins and leaves a show and what they react, without
knowing analytics; the recorder turns that into the show's figures."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping

from websockets.asyncio.client import connect

from tests.integration.analytics.scripted import scripted_show
from vitrine.analytics.recorder import ViewRecorder
from vitrine.analytics.report import show_report
from vitrine.core.broker import MemoryBroker
from vitrine.core.db import Database
from vitrine.live import EdgeSettings, LiveEdge, LiveRequest
from vitrine.live.events import ShowSnapshot, ShowState, Viewer

FAST = EdgeSettings(tick_s=0.02, heartbeat_s=0.5, viewer_count_interval_s=0.1, hello_timeout_s=2)


class OneShow:
    def __init__(self, show_id: str) -> None:
        self.show_id = show_id

    async def snapshot(self, show_id: str) -> ShowSnapshot:
        return ShowSnapshot(show=ShowState(show_id=show_id, state="live", title="t", started_at=1))


class ByQuery:
    async def identify(self, request: LiveRequest) -> Viewer:
        user = request.query.get("user")
        return Viewer(user_id=user, display_name=user or "Guest")


class NoActions:
    async def post_chat(self, show_id: str, viewer: Viewer, text: str) -> None: ...

    async def mark_question(self, show_id: str, viewer: Viewer, message_id: str) -> None: ...


class Tape:
    """A view hook that writes down what it is told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def viewer_joined(self, show_id: str, viewer: str, at: float) -> None:
        self.calls.append(("joined", show_id, viewer))

    def viewer_left(self, show_id: str, viewer: str, at: float) -> None:
        self.calls.append(("left", show_id, viewer))

    def reactions(self, show_id: str, counts: Mapping[str, int]) -> None:
        self.calls.append(("reactions", show_id, json.dumps(dict(counts), ensure_ascii=False)))


async def _watch(edge: LiveEdge, show_id: str, query: str, react: str | None = None) -> None:
    async with connect(f"ws://127.0.0.1:{edge.port}/shows/{show_id}/live{query}") as ws:
        await ws.send(json.dumps({"type": "hello"}))
        await ws.recv()
        if react:
            await ws.send(json.dumps({"type": "react", "emoji": react}))
            await asyncio.sleep(0.1)


async def test_the_edge_reports_joins_leaves_and_reactions_to_its_hook() -> None:
    broker = MemoryBroker()
    await broker.start()
    tape = Tape()
    edge = LiveEdge(broker, ByQuery(), OneShow("7"), NoActions(), settings=FAST, views=tape)
    await edge.start("127.0.0.1", 0)
    try:
        await _watch(edge, "7", "?user=42", react="❤️")
        await _watch(edge, "7", "")
        await asyncio.sleep(0.1)
    finally:
        await edge.stop()
        await broker.stop()

    assert tape.calls[:2] == [("joined", "7", "u42"), ("reactions", "7", '{"❤️": 1}')]
    assert tape.calls[2] == ("left", "7", "u42")
    guest = tape.calls[3][2]
    assert tape.calls[3:] == [("joined", "7", guest), ("left", "7", guest)]
    assert guest.startswith("a") and len(guest) == 33


async def test_viewers_through_the_real_edge_reach_the_report(db: Database) -> None:
    scripted = await scripted_show(db)
    show_id = str(scripted.show_id)
    broker = MemoryBroker()
    await broker.start()
    recorder = ViewRecorder(db, flush_s=0.05)
    recorder.start()
    edge = LiveEdge(broker, ByQuery(), OneShow(show_id), NoActions(), settings=FAST, views=recorder)
    await edge.start("127.0.0.1", 0)
    try:
        await asyncio.gather(
            _watch(edge, show_id, "?user=900", react="🔥"), _watch(edge, show_id, "?user=901")
        )
        await asyncio.sleep(0.1)
    finally:
        await edge.stop()
        await broker.stop()
        await recorder.stop()

    report = await show_report(db, scripted.show_id)
    assert report.views == 3 + 2
    assert report.unique_viewers == 3 + 2
    assert report.reactions == 5 + 1
