"""What shoppers browse: shows live now (most viewers first), upcoming, and recent replays."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from vitrine.accounts.models import Merchant, MerchantStatus
from vitrine.core.db import Database
from vitrine.core.errors import NotFound
from vitrine.shows.models import Show, ShowStatus


@dataclass(frozen=True, slots=True)
class ShowCard:
    show: Show
    merchant: Merchant


async def _cards(
    db: Database, *conditions: object, newest_first: bool, limit: int
) -> list[ShowCard]:
    order = Show.scheduled_start.desc() if newest_first else Show.scheduled_start.asc()
    query = (
        select(Show, Merchant)
        .join(Merchant, Merchant.id == Show.merchant_id)
        .where(Merchant.status == MerchantStatus.APPROVED, *conditions)  # type: ignore[arg-type]
        .order_by(order, Show.id)
        .limit(limit)
    )
    async with db.read() as session:
        return [ShowCard(show, merchant) for show, merchant in (await session.execute(query)).all()]


async def live_now(db: Database, *, limit: int = 24) -> list[ShowCard]:
    return await _cards(db, Show.status == ShowStatus.LIVE, newest_first=True, limit=limit)


async def upcoming(
    db: Database, *, merchant_id: int | None = None, limit: int = 24
) -> list[ShowCard]:
    conditions: list[object] = [Show.status == ShowStatus.SCHEDULED]
    if merchant_id is not None:
        conditions.append(Show.merchant_id == merchant_id)
    return await _cards(db, *conditions, newest_first=False, limit=limit)


async def recent(
    db: Database, *, merchant_id: int | None = None, limit: int = 24
) -> list[ShowCard]:
    conditions: list[object] = [Show.status == ShowStatus.ENDED]
    if merchant_id is not None:
        conditions.append(Show.merchant_id == merchant_id)
    return await _cards(db, *conditions, newest_first=True, limit=limit)


async def shows_of_merchant(db: Database, merchant_id: int) -> list[Show]:
    async with db.read() as session:
        query = (
            select(Show)
            .where(Show.merchant_id == merchant_id)
            .order_by(Show.scheduled_start.desc())
        )
        return list((await session.scalars(query)).all())


async def get_show(db: Database, show_id: int) -> ShowCard:
    async with db.read() as session:
        row = (
            await session.execute(
                select(Show, Merchant)
                .join(Merchant, Merchant.id == Show.merchant_id)
                .where(Show.id == show_id)
            )
        ).first()
    if row is None:
        raise NotFound(f"No show #{show_id}")
    return ShowCard(row[0], row[1])
