"""Shows with a recording, pins and chat, for the replay and embed tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from vitrine.catalog.models import Product, ProductStatus, Variant
from vitrine.chat.models import ChatMessage
from vitrine.core.db import Database
from vitrine.shows.models import Show, ShowStatus
from vitrine.shows.pin_models import ShowPin

STARTED = datetime(2026, 3, 14, 18, 0, 0, tzinfo=UTC)


async def make_product(
    db: Database,
    merchant_id: int,
    title: str,
    price: int,
    *,
    stock: int = 5,
    external_url: str = "",
) -> int:
    async with db.write() as tx:
        product = Product(
            merchant_id=merchant_id,
            handle=title.lower().replace(" ", "-"),
            title=title,
            status=ProductStatus.ACTIVE,
            currency="EUR",
            external_url=external_url,
        )
        tx.session.add(product)
        await tx.session.flush()
        tx.session.add(
            Variant(
                product_id=product.id,
                merchant_id=merchant_id,
                sku=f"{product.handle}-1",
                price=price,
                stock=stock,
            )
        )
    return product.id


def playlist(*segments: tuple[datetime | None, float], discontinuity_before: int = -1) -> str:
    """A VOD playlist; a segment with a date gets its EXT-X-PROGRAM-DATE-TIME tag."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-PLAYLIST-TYPE:VOD"]
    for index, (date, duration) in enumerate(segments):
        if index == discontinuity_before:
            lines.append("#EXT-X-DISCONTINUITY")
        if date is not None:
            lines.append("#EXT-X-PROGRAM-DATE-TIME:" + date.isoformat(timespec="milliseconds"))
        lines += [f"#EXTINF:{duration:.6f},", f"event_{index:06d}.ts"]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def write_replay(data_dir: Path, show_id: int, text: str) -> None:
    folder = data_dir / "hls" / str(show_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "replay.m3u8").write_text(text)


async def end_show_at(db: Database, show_id: int, *, minutes: float = 10) -> None:
    """The show ran from STARTED for `minutes` and is over."""
    async with db.write() as tx:
        await tx.session.execute(
            update(Show)
            .where(Show.id == show_id)
            .values(
                status=ShowStatus.ENDED,
                started_at=STARTED,
                ended_at=STARTED + timedelta(minutes=minutes),
            )
        )


async def add_pin(
    db: Database, show_id: int, product_id: int, after_s: float, until_s: float | None
) -> None:
    async with db.write() as tx:
        tx.session.add(
            ShowPin(
                show_id=show_id,
                product_id=product_id,
                pinned_at=STARTED + timedelta(seconds=after_s),
                unpinned_at=None if until_s is None else STARTED + timedelta(seconds=until_s),
            )
        )


async def add_chat(
    db: Database, show_id: int, user_id: int, text: str, after_s: float, *, removed: bool = False
) -> None:
    async with db.write() as tx:
        at = STARTED + timedelta(seconds=after_s)
        tx.session.add(
            ChatMessage(
                show_id=show_id,
                user_id=user_id,
                author_name="Ada",
                text=text,
                sent_at=at,
                removed_at=at if removed else None,
            )
        )
