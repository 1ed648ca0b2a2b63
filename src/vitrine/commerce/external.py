"""External checkout: a product with its own shop page opens it in a new tab while the show
keeps playing; each click is counted for the show it came from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select

from vitrine.accounts.actor import Actor
from vitrine.catalog.models import Product, ProductStatus
from vitrine.commerce.models import ExternalClick
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.core.errors import NotFound
from vitrine.shows.models import LineupItem


class ExternalClicks:
    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._db = db
        self._clock = clock

    async def open_external(self, actor: Actor, show_id: int, product_id: int) -> str:
        """Count the click and return the merchant's page to open."""
        async with self._db.write() as tx:
            product = await tx.session.get(Product, product_id)
            in_show = await tx.session.scalar(
                select(LineupItem.id).where(
                    LineupItem.show_id == show_id, LineupItem.product_id == product_id
                )
            )
            if (
                product is None
                or in_show is None
                or product.status != ProductStatus.ACTIVE
                or not product.external_url
            ):
                raise NotFound("This product has no page of its own in this show")
            tx.session.add(
                ExternalClick(
                    show_id=show_id, product_id=product_id, user_id=actor.user_id, at=self._clock()
                )
            )
            return product.external_url

    async def clicks(self, show_id: int) -> dict[int, int]:
        """{product_id: clicks} for a show."""
        async with self._db.read() as session:
            rows = await session.execute(
                select(ExternalClick.product_id, func.count())
                .where(ExternalClick.show_id == show_id)
                .group_by(ExternalClick.product_id)
            )
            return {product_id: int(count) for product_id, count in rows}
