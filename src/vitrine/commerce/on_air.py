"""Buying, as viewers see it: stock and deal changes turned into live-channel events (the
`Announcer` the app wires), and the deals of a show for a fresh screen's snapshot."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select

from vitrine.catalog.models import Product, Variant
from vitrine.commerce.announce import DealState
from vitrine.commerce.models import Deal, DealStatus
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.live import events
from vitrine.shows.models import LineupItem, Show, ShowStatus


class Publisher(Protocol):
    async def publish(self, show_id: str, event: events.ShowEvent) -> int: ...


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class LiveAnnouncer:
    """Sends commerce's changes to the shows' viewers, after commit (commerce calls it then)."""

    def __init__(self, db: Database, channel: Publisher) -> None:
        self.db = db
        self.channel = channel
        self._started: set[int] = set()  # deals this instance has announced as started

    async def stock_changed(self, show_id: int | None, variant_id: int, stock_left: int) -> None:
        async with self.db.read() as session:
            product_id = await session.scalar(
                select(Variant.product_id).where(Variant.id == variant_id)
            )
            if product_id is None:
                return
            total = await session.scalar(
                select(func.coalesce(func.sum(Variant.stock), 0)).where(
                    Variant.product_id == product_id
                )
            )
            if show_id is not None:
                shows = [show_id]
            else:  # not from a show (an expired hold): every live show presenting the product
                shows = list(
                    (
                        await session.scalars(
                            select(Show.id)
                            .join(LineupItem, LineupItem.show_id == Show.id)
                            .where(
                                LineupItem.product_id == product_id,
                                Show.status == ShowStatus.LIVE,
                            )
                        )
                    ).all()
                )
        left = int(total or 0)
        for show in shows:
            await self.channel.publish(
                str(show),
                events.StockChanged(
                    product_id=str(product_id), stock_left=left, sold_out=left == 0
                ),
            )

    async def deal_updated(self, state: DealState) -> None:
        show = str(state.show_id)
        if state.status == "live" and state.deal_id not in self._started:
            self._started.add(state.deal_id)
            await self.channel.publish(show, await deal_started(self.db, state))
            return
        sold_out = state.status == "sold_out" or state.remaining == 0
        await self.channel.publish(
            show,
            events.DealUpdated(
                deal_id=str(state.deal_id), stock_left=state.remaining, sold_out=sold_out
            ),
        )
        if state.status in ("sold_out", "ended"):
            self._started.discard(state.deal_id)
            reason = (
                "sold_out" if sold_out else "expired" if utc_now() >= state.ends_at else "stopped"
            )
            await self.channel.publish(
                show,
                events.DealEnded(deal_id=str(state.deal_id), reason=reason, at=_ms(utc_now())),  # type: ignore[arg-type]
            )


async def deal_started(db: Database, state: DealState) -> events.DealStarted:
    async with db.read() as session:
        title = await session.scalar(select(Product.title).where(Product.id == state.product_id))
    return events.DealStarted(
        deal_id=str(state.deal_id),
        product_id=str(state.product_id),
        title=title or "",
        price_minor=state.deal_price,
        currency=state.currency,
        stock_left=state.remaining,
        ends_at=_ms(state.ends_at),
        at=_ms(utc_now()),
    )


async def live_deals(db: Database, show_id: int) -> list[events.DealStarted]:
    """The deals still open on a show, as a fresh screen shows them."""
    async with db.read() as session:
        rows = (
            await session.execute(
                select(Deal, Product.title)
                .join(Product, Product.id == Deal.product_id)
                .where(
                    Deal.show_id == show_id,
                    Deal.status == DealStatus.LIVE,
                    Deal.ends_at > utc_now(),
                )
                .order_by(Deal.id)
            )
        ).all()
    return [
        events.DealStarted(
            deal_id=str(deal.id),
            product_id=str(deal.product_id),
            title=title,
            price_minor=deal.deal_price,
            currency=deal.currency,
            stock_left=deal.quantity - deal.claimed,
            ends_at=_ms(deal.ends_at),
            at=_ms(deal.starts_at),
        )
        for deal, title in rows
    ]
