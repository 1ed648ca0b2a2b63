"""A crowd opening a live show at once: every screen gets its snapshot (found by bench/soak.py:
the snapshot read the chat in a second session while holding the first, so a crowd larger
than the connection pool held every connection and waited for one more, until time-out)."""

from __future__ import annotations

import asyncio

from tests.factories import make_merchant, make_show, make_user
from vitrine.chat.service import ChatService
from vitrine.core.broker import MemoryBroker
from vitrine.core.db import Database
from vitrine.core.ratelimit import MemoryRateLimiter
from vitrine.live.channel import LiveChannel
from vitrine.live.events import Viewer
from vitrine.shows.live_state import ShowLifecycle
from vitrine.shows.snapshot import ShowSnapshots

CROWD = 60  # more than any pool a Database opens (SQLite 5 + 10, PostgreSQL 10 + 10)


async def test_a_crowd_larger_than_the_pool_gets_every_snapshot(db: Database) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    show = await make_show(db, owner, merchant)
    await ShowLifecycle(db).stream_arrived(show.id)
    chat = ChatService(db, LiveChannel(MemoryBroker()), MemoryRateLimiter())
    shopper = await make_user(db, "sam@example.com", name="Sam")
    sam = Viewer(user_id=str(shopper.id), display_name="Sam")
    await chat.post_chat(str(show.id), sam, "Is the jacket warm?")
    await chat.post_chat(str(show.id), sam, "And waterproof?")

    snapshots = await asyncio.gather(
        *(ShowSnapshots(db).snapshot(str(show.id)) for _ in range(CROWD))
    )

    assert len(snapshots) == CROWD
    for snapshot in snapshots:
        assert snapshot.show.state == "live"
        assert [message.text for message in snapshot.chat] == [
            "Is the jacket warm?",
            "And waterproof?",
        ]
