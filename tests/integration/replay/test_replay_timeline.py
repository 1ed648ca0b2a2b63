"""The replay's product timeline and chat, placed on the recording by its frames' dates."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from tests.factories import make_merchant, make_show, make_user
from tests.integration.replay.helpers import (
    STARTED,
    add_chat,
    add_pin,
    end_show_at,
    make_product,
    playlist,
    write_replay,
)
from vitrine.catalog.models import Product, ProductStatus
from vitrine.core.db import Database
from vitrine.shows import listing
from vitrine.shows.pins import recording_clock, replay_playlist_text, replay_timeline

S = timedelta(seconds=1)
START_MS = STARTED.timestamp() * 1000


def test_a_moment_lands_where_its_frame_is_even_after_the_stream_dropped() -> None:
    # Given 3 s recorded from 2 s after the start, then a 60 s drop, then 2 s more.
    text = playlist(
        (STARTED + 2 * S, 1.5),
        (None, 1.5),  # no date of its own: follows the previous segment
        (STARTED + 65 * S, 2.0),
        discontinuity_before=2,
    )
    clock = recording_clock(text, fallback_origin_ms=START_MS)

    assert clock.duration_s == 5.0
    assert clock.origin_ms == START_MS + 2000
    assert clock.position_of(START_MS) == 0.0  # before the first frame: the start
    assert clock.position_of(START_MS + 2000) == 0.0
    assert clock.position_of(START_MS + 4250) == 2.25
    assert clock.position_of(START_MS + 30_000) == 3.0  # during the drop: where it resumes
    assert clock.position_of(START_MS + 66_000) == 4.0
    assert clock.position_of(START_MS + 600_000) == 5.0  # after the end: the last frame


def test_without_dates_the_show_start_is_the_origin() -> None:
    clock = recording_clock(playlist((None, 2.0), (None, 2.0)), fallback_origin_ms=START_MS)
    assert clock.origin_ms == START_MS
    assert clock.position_of(START_MS + 3500) == 3.5
    assert clock.position_of(START_MS + 9000) == 4.0


async def test_the_timeline_has_each_pin_at_its_offset_and_the_chat_in_order(
    db: Database, tmp_path: Path
) -> None:
    owner = await make_user(db, "owner@example.com", name="Ada")
    merchant = await make_merchant(db, owner, "acme")
    beanie = await make_product(db, merchant.id, "Beanie", 2900)
    jacket = await make_product(db, merchant.id, "Jacket", 18900)
    scarf = await make_product(db, merchant.id, "Scarf", 4500)
    show = await make_show(db, owner, merchant, product_ids=(beanie, jacket, scarf))
    await end_show_at(db, show.id, minutes=1)
    write_replay(tmp_path, show.id, playlist(*[(STARTED + i * 2 * S, 2.0) for i in range(30)]))
    await add_pin(db, show.id, beanie, 4, 20)
    await add_pin(db, show.id, jacket, 20, None)  # still pinned when the show ended
    await add_pin(db, show.id, scarf, 30, 35)
    await add_chat(db, show.id, owner.id, "Hello!", 1)
    await add_chat(db, show.id, owner.id, "spam", 5, removed=True)
    await add_chat(db, show.id, owner.id, "Love the jacket", 21.5)
    async with db.write() as tx:  # the scarf was archived after the show: nothing to sell
        await tx.session.execute(
            update(Product).where(Product.id == scarf).values(status=ProductStatus.ARCHIVED)
        )

    card = await listing.get_show(db, show.id)
    timeline = await replay_timeline(db, card.show, replay_playlist_text(tmp_path, show.id))

    assert timeline.duration_s == 60.0
    assert timeline.origin_ms == START_MS
    assert [(p.title, p.price_text, p.offset_s, p.end_s) for p in timeline.pins] == [
        ("Beanie", "29.00 EUR", 4.0, 20.0),
        ("Jacket", "189.00 EUR", 20.0, 60.0),
    ]
    assert [(line.text, line.sent_at_ms - START_MS) for line in timeline.chat] == [
        ("Hello!", 1000),
        ("Love the jacket", 21500),
    ]


async def test_an_ended_show_without_a_recording_has_no_timeline_to_speak_of(
    db: Database, tmp_path: Path
) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    show = await make_show(db, owner, merchant)
    await end_show_at(db, show.id)
    card = await listing.get_show(db, show.id)

    timeline = await replay_timeline(db, card.show, replay_playlist_text(tmp_path, show.id))

    assert (timeline.duration_s, timeline.origin_ms, timeline.pins, timeline.chat) == (
        0.0,
        START_MS,
        (),
        (),
    )
