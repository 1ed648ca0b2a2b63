"""Every pin and unpin of a live show is kept, so the replay can place its products."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import actor_of, make_merchant, make_show, make_user
from tests.integration.replay.helpers import make_product
from vitrine.core.broker import MemoryBroker
from vitrine.core.db import Database
from vitrine.core.errors import ValidationFailed
from vitrine.live.channel import LiveChannel
from vitrine.shows.live_state import ShowLifecycle
from vitrine.shows.on_air import OnAir
from vitrine.shows.pin_models import ShowPin


async def _history(db: Database, show_id: int) -> list[ShowPin]:
    async with db.read() as session:
        query = select(ShowPin).where(ShowPin.show_id == show_id).order_by(ShowPin.id)
        return list((await session.scalars(query)).all())


async def test_each_pin_is_a_span_that_ends_when_the_next_one_starts(db: Database) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    beanie = await make_product(db, merchant.id, "Beanie", 2900)
    jacket = await make_product(db, merchant.id, "Jacket", 18900)
    show = await make_show(db, owner, merchant, product_ids=(beanie, jacket))
    await ShowLifecycle(db).stream_arrived(show.id)
    on_air = OnAir(db, LiveChannel(MemoryBroker()))
    host = await actor_of(db, owner)

    first = await on_air.pin(host, show.id, beanie)
    second = await on_air.pin(host, show.id, jacket)
    await on_air.pin(host, show.id, jacket)  # pressed twice: still one span
    await on_air.unpin(host, show.id)
    await on_air.unpin(host, show.id)  # nothing pinned: nothing written

    rows = await _history(db, show.id)
    assert [(row.product_id, row.unpinned_at is not None) for row in rows] == [
        (beanie, True),
        (jacket, True),
    ]
    ms = timedelta(milliseconds=1)
    assert abs(rows[0].pinned_at.timestamp() * 1000 - first.at) < 1
    assert abs(rows[1].pinned_at.timestamp() * 1000 - second.at) < 1
    assert rows[0].unpinned_at == rows[1].pinned_at
    assert rows[1].unpinned_at is not None and rows[1].unpinned_at >= rows[1].pinned_at - ms


async def test_a_refused_pin_leaves_no_trace(db: Database) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    beanie = await make_product(db, merchant.id, "Beanie", 2900)
    show = await make_show(db, owner, merchant)  # empty lineup
    await ShowLifecycle(db).stream_arrived(show.id)
    on_air = OnAir(db, LiveChannel(MemoryBroker()))
    with pytest.raises(ValidationFailed):
        await on_air.pin(await actor_of(db, owner), show.id, beanie)
    assert await _history(db, show.id) == []
