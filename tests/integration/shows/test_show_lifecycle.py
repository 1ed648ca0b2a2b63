"""Scheduling, rescheduling, cancelling, and a show's life from scheduled to ended."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.factories import actor_of, in_hours, make_merchant, make_show, make_user
from vitrine.core.db import Database
from vitrine.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from vitrine.core.pictures import Upload
from vitrine.shows import schedule
from vitrine.shows.live_state import ShowLifecycle
from vitrine.shows.models import Show, ShowStatus


async def test_a_show_is_stored_in_utc_from_the_brand_time_zone(db: Database) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    show = await schedule.schedule_show(
        db,
        await actor_of(db, owner),
        merchant.id,
        schedule.ShowDraft("Launch", "", "2099-01-15T20:30", 45),
    )
    assert (
        show.scheduled_start.isoformat() == "2099-01-15T19:30:00+00:00"
    )  # Paris is UTC+1 in January
    assert len(show.stream_key) == 32
    assert show.status is ShowStatus.SCHEDULED


async def test_a_show_in_the_past_is_refused_and_nothing_is_written(db: Database) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    with pytest.raises(ValidationFailed) as refused:
        await schedule.schedule_show(
            db,
            await actor_of(db, owner),
            merchant.id,
            schedule.ShowDraft("Old", "", in_hours(-1), 30),
        )
    assert refused.value.errors == {
        "starts_at": "This time has passed; choose a time after now (Europe/Paris time)"
    }
    async with db.read() as session:
        assert (await session.scalars(Show.__table__.select())).all() == []


async def test_a_pending_brand_cannot_schedule(db: Database) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme", approved=False)
    with pytest.raises(NotAllowed) as refused:
        await make_show(db, owner, merchant)
    assert refused.value.detail == (
        "Acme is not approved yet; shows can be scheduled once the operator approves the application"
    )


async def test_another_brands_product_cannot_join_the_lineup(db: Database) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    with pytest.raises(ValidationFailed) as refused:
        await make_show(db, owner, merchant, product_ids=(999,))
    assert refused.value.errors == {"product_ids": "Products [999] are not in this brand's catalog"}


async def test_staff_of_another_brand_cannot_touch_a_show(db: Database) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    show = await make_show(db, owner, merchant)
    rival = await make_user(db, "rival@example.com")
    await make_merchant(db, rival, "rival")
    with pytest.raises(NotAllowed):
        await schedule.cancel_show(db, await actor_of(db, rival), show.id)


async def test_the_stream_arriving_makes_the_show_live_and_a_drop_does_not_end_it(
    db: Database,
) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    show = await make_show(db, owner, merchant)
    changes: list[tuple[ShowStatus, bool]] = []

    async def record(changed: Show) -> None:
        changes.append((changed.status, changed.stream_online))

    lifecycle = ShowLifecycle(db, on_change=record)
    await lifecycle.stream_arrived(show.id)
    await lifecycle.stream_lost(show.id)
    await lifecycle.stream_arrived(show.id)
    ended = await lifecycle.end(await actor_of(db, owner), show.id)

    assert changes == [
        (ShowStatus.LIVE, True),
        (ShowStatus.LIVE, False),
        (ShowStatus.LIVE, True),
        (ShowStatus.ENDED, True),
    ]
    assert ended.started_at is not None and ended.ended_at is not None
    with pytest.raises(Conflict) as refused:
        await schedule.cancel_show(db, await actor_of(db, owner), show.id)
    assert (
        refused.value.detail
        == "This show is ended; only a show that has not started can be cancelled"
    )


async def test_go_live_needs_the_stream_to_be_flowing(db: Database) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    show = await make_show(db, owner, merchant)
    lifecycle = ShowLifecycle(db)
    with pytest.raises(Conflict) as refused:
        await lifecycle.go_live(await actor_of(db, owner), show.id)
    assert refused.value.detail.startswith("No video is arriving yet")
    shopper = await make_user(db, "shopper@example.com")
    with pytest.raises(NotFound):
        await lifecycle.end(await actor_of(db, shopper), show.id)


async def test_rotating_the_key_replaces_it(db: Database) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    show = await make_show(db, owner, merchant)
    new_key = await schedule.rotate_stream_key(db, await actor_of(db, owner), show.id)
    assert new_key != show.stream_key
    async with db.read() as session:
        stored = await session.get(Show, show.id)
    assert stored is not None and stored.stream_key == new_key


async def test_simulcast_destinations_are_checked_and_kept(db: Database) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    draft = schedule.ShowDraft(
        "Everywhere",
        "",
        in_hours(1),
        30,
        simulcast="YouTube rtmp://a.rtmp.youtube.com/live2/abcd\nOur site rtmps://live.acme.example/app/k1\n",
    )
    show = await schedule.schedule_show(db, await actor_of(db, owner), merchant.id, draft)
    async with db.read() as session:
        assert await schedule.simulcast_text(session, show.id) == (
            "YouTube rtmp://a.rtmp.youtube.com/live2/abcd\nOur site rtmps://live.acme.example/app/k1"
        )
    with pytest.raises(ValidationFailed) as refused:
        schedule.parse_destinations("Twitch https://twitch.tv/acme")
    assert refused.value.errors == {
        "simulcast": "Line 1: write a name, a space, then the rtmp:// or rtmps:// address with its stream key"
    }


async def test_a_refused_show_leaves_no_cover_picture_behind(db: Database, tmp_path: Path) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    media = tmp_path / "media"
    cover = Upload(a_cover_picture(), media, max_bytes=1024 * 1024)

    with pytest.raises(ValidationFailed):
        await schedule.schedule_show(
            db,
            await actor_of(db, owner),
            merchant.id,
            schedule.ShowDraft("Launch", "", in_hours(2), 30, product_ids=(999,), cover=cover),
        )

    assert list(media.rglob("*.*")) == []


async def test_a_rescheduled_show_keeps_its_new_cover_and_a_refused_change_stores_none(
    db: Database, tmp_path: Path
) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    show = await make_show(db, owner, merchant)
    actor = await actor_of(db, owner)
    media = tmp_path / "media"
    cover = Upload(a_cover_picture(), media, max_bytes=1024 * 1024)

    changed = await schedule.reschedule_show(
        db, actor, show.id, schedule.ShowDraft("Launch", "", in_hours(3), 30, cover=cover)
    )
    kept = sorted(media.rglob("*.*"))
    assert len(kept) == 2  # the picture and its thumbnail
    assert media / str(changed.cover_path) in kept

    with pytest.raises(ValidationFailed):
        await schedule.reschedule_show(
            db,
            actor,
            show.id,
            schedule.ShowDraft("Launch", "", in_hours(3), 30, product_ids=(999,), cover=cover),
        )
    assert sorted(media.rglob("*.*")) == kept


def a_cover_picture() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 360), (20, 30, 200)).save(out, "JPEG")
    return out.getvalue()
