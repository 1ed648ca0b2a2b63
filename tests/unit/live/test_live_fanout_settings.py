"""The fan-out's thread setting is refused when it cannot work."""

from __future__ import annotations

import pytest

from vitrine.core.broker import MemoryBroker
from vitrine.live import EdgeSettings, LiveEdge, LiveRequest
from vitrine.live.events import ShowSnapshot, Viewer


class Nobody:
    async def identify(self, request: LiveRequest) -> Viewer:
        raise AssertionError("no one connects in this test")

    async def snapshot(self, show_id: str) -> ShowSnapshot:
        raise AssertionError("no one connects in this test")

    async def post_chat(self, show_id: str, viewer: Viewer, text: str) -> None:
        raise AssertionError("no one connects in this test")

    async def mark_question(self, show_id: str, viewer: Viewer, message_id: str) -> None:
        raise AssertionError("no one connects in this test")


def test_an_edge_with_no_writer_thread_is_refused() -> None:
    nobody = Nobody()

    with pytest.raises(ValueError, match="writer_threads must be at least 1"):
        LiveEdge(MemoryBroker(), nobody, nobody, nobody, settings=EdgeSettings(writer_threads=0))
