"""What a host does during a show: pin a product (the shop banner), unpin it, reorder the
lineup, post an announcement. Each change commits first, then goes to every viewer; product
events carry the wall-clock moment so players can hold them until the video reaches it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vitrine.accounts.actor import Actor
from vitrine.catalog.models import Product, ProductImage, ProductStatus, Variant
from vitrine.core.clock import utc_now
from vitrine.core.db import Database, Tx
from vitrine.core.errors import Conflict, NotFound, ValidationFailed
from vitrine.live import events
from vitrine.shows.models import LineupItem, Show, ShowStatus
from vitrine.shows.pins import record_pin, record_unpin
from vitrine.shows.schedule import is_host

MAX_ANNOUNCEMENT = 200


class Publisher(Protocol):
    async def publish(self, show_id: str, event: events.ShowEvent) -> int: ...


def now_ms() -> int:
    return int(utc_now().timestamp() * 1000)


@dataclass
class OnAir:
    db: Database
    channel: Publisher

    async def pin(self, actor: Actor, show_id: int, product_id: int) -> events.ProductPinned:
        async with self.db.write() as tx:
            show = await self._hosted(tx.session, actor, show_id)
            items = await lineup_items(tx.session, show.id)
            item = next((i for i in items if i.product_id == str(product_id)), None)
            if item is None:
                raise ValidationFailed(
                    {"product_id": "Add this product to the show's lineup first"}
                )
            show.pinned_product_id = product_id
            moment = utc_now()
            await record_pin(tx.session, show.id, product_id, moment)
            event = pinned_event(item, at=int(moment.timestamp() * 1000))
            self._after(tx, show.id, event)
        return event

    async def unpin(self, actor: Actor, show_id: int) -> None:
        async with self.db.write() as tx:
            show = await self._hosted(tx.session, actor, show_id)
            if show.pinned_product_id is None:
                return
            product_id = show.pinned_product_id
            show.pinned_product_id = None
            moment = utc_now()
            await record_unpin(tx.session, show.id, moment)
            self._after(
                tx,
                show.id,
                events.ProductUnpinned(
                    product_id=str(product_id), at=int(moment.timestamp() * 1000)
                ),
            )

    async def reorder(self, actor: Actor, show_id: int, product_ids: list[int]) -> None:
        """Put the lineup in a new order; the same products, each once."""
        async with self.db.write() as tx:
            show = await self._hosted(tx.session, actor, show_id)
            rows = list(
                (
                    await tx.session.scalars(
                        select(LineupItem).where(LineupItem.show_id == show.id)
                    )
                ).all()
            )
            if sorted(row.product_id for row in rows) != sorted(product_ids):
                raise ValidationFailed(
                    {"product_ids": "Send each product of the lineup once, in the new order"}
                )
            position = {pid: index for index, pid in enumerate(product_ids)}
            for row in rows:
                row.position = position[row.product_id]
            await tx.session.flush()
            self._after(
                tx, show.id, events.LineupChanged(items=await lineup_items(tx.session, show.id))
            )

    async def announce(self, actor: Actor, show_id: int, text: str) -> None:
        body = " ".join(text.split())
        if not body or len(body) > MAX_ANNOUNCEMENT:
            raise ValidationFailed({"text": f"Write 1 to {MAX_ANNOUNCEMENT} characters"})
        async with self.db.write() as tx:
            show = await self._hosted(tx.session, actor, show_id)
            self._after(
                tx,
                show.id,
                events.Announcement(announcement_id=secrets.token_hex(6), text=body, at=now_ms()),
            )

    async def _hosted(self, session: AsyncSession, actor: Actor, show_id: int) -> Show:
        actor.require_signed_in()
        show = await session.get(Show, show_id)
        if show is None or not await is_host(session, actor, show):
            raise NotFound(f"No show #{show_id} that you host")
        if show.status is not ShowStatus.LIVE:
            raise Conflict(f"This show is {show.status}; pins and announcements are for live shows")
        return show

    def _after(self, tx: Tx, show_id: int, event: events.ShowEvent) -> None:
        channel = self.channel

        async def publish() -> None:
            await channel.publish(str(show_id), event)

        tx.on_commit(publish)


def pinned_event(item: events.LineupItem, *, at: int) -> events.ProductPinned:
    return events.ProductPinned(
        product_id=item.product_id,
        title=item.title,
        price_minor=item.price_minor,
        currency=item.currency,
        image_url=item.image_url,
        at=at,
    )


async def lineup_items(session: AsyncSession, show_id: int) -> list[events.LineupItem]:
    """The show's products in order, with the price from, stock left and a thumbnail."""
    products = (
        (
            await session.execute(
                select(Product)
                .join(LineupItem, LineupItem.product_id == Product.id)
                .where(LineupItem.show_id == show_id, Product.status != ProductStatus.ARCHIVED)
                .order_by(LineupItem.position)
            )
        )
        .scalars()
        .all()
    )
    ids = [product.id for product in products]
    variants = (await session.scalars(select(Variant).where(Variant.product_id.in_(ids)))).all()
    images = (
        await session.scalars(
            select(ProductImage)
            .where(ProductImage.product_id.in_(ids))
            .order_by(ProductImage.position, ProductImage.id)
        )
    ).all()
    prices: dict[int, int] = {}
    stock: dict[int, int] = {}
    for variant in variants:
        prices[variant.product_id] = min(
            prices.get(variant.product_id, variant.price), variant.price
        )
        stock[variant.product_id] = stock.get(variant.product_id, 0) + variant.stock
    thumbs: dict[int, str] = {}
    for image in images:
        thumbs.setdefault(image.product_id, f"/media/{image.thumbnail_path}")
    return [
        events.LineupItem(
            product_id=str(product.id),
            title=product.title,
            price_minor=prices.get(product.id, 0),
            currency=product.currency,
            image_url=thumbs.get(product.id, ""),
            stock_left=stock.get(product.id, 0),
        )
        for product in products
    ]
