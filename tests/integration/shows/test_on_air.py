"""A host pins products, reorders the lineup and announces; viewers' screens follow."""

from __future__ import annotations

import msgspec
import pytest

from tests.factories import actor_of, make_merchant, make_show, make_user
from vitrine.catalog.models import Product, ProductStatus, Variant
from vitrine.core.broker import MemoryBroker
from vitrine.core.db import Database
from vitrine.core.errors import Conflict, NotFound, ValidationFailed
from vitrine.live import events
from vitrine.live.channel import LiveChannel, show_channel
from vitrine.shows.live_state import ShowLifecycle
from vitrine.shows.on_air import OnAir
from vitrine.shows.snapshot import ShowSnapshots


async def _product(
    db: Database, merchant_id: int, title: str, prices: list[int], stock: int
) -> int:
    async with db.write() as tx:
        product = Product(
            merchant_id=merchant_id,
            handle=title.lower().replace(" ", "-"),
            title=title,
            status=ProductStatus.ACTIVE,
            currency="EUR",
        )
        tx.session.add(product)
        await tx.session.flush()
        for n, price in enumerate(prices):
            tx.session.add(
                Variant(
                    product_id=product.id,
                    merchant_id=merchant_id,
                    sku=f"{title}-{n}",
                    price=price,
                    stock=stock,
                )
            )
    return product.id


async def test_pins_reorders_and_announcements_reach_the_channel_and_the_snapshot(
    db: Database,
) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    beanie = await _product(db, merchant.id, "Beanie", [2900, 2500], stock=3)
    jacket = await _product(db, merchant.id, "Jacket", [18900], stock=2)
    show = await make_show(db, owner, merchant, product_ids=(beanie, jacket))
    broker = MemoryBroker()
    on_air = OnAir(db, LiveChannel(broker))
    host = await actor_of(db, owner)

    with pytest.raises(Conflict):
        await on_air.pin(host, show.id, beanie)  # not live yet
    await ShowLifecycle(db).stream_arrived(show.id)
    pinned = await on_air.pin(host, show.id, jacket)
    await on_air.reorder(host, show.id, [jacket, beanie])
    await on_air.announce(host, show.id, "  Free   shipping tonight ")

    kept = await broker.since(show_channel(str(show.id)), 0, 100)
    assert kept is not None
    published = [msgspec.json.decode(e.data, type=events.ShowEvent) for e in kept]
    assert published[0] == pinned
    assert (pinned.product_id, pinned.title, pinned.price_minor, pinned.currency) == (
        str(jacket),
        "Jacket",
        18900,
        "EUR",
    )
    assert pinned.at > 0
    assert isinstance(published[1], events.LineupChanged)
    assert [(i.title, i.price_minor, i.stock_left) for i in published[1].items] == [
        ("Jacket", 18900, 2),
        ("Beanie", 2500, 6),
    ]
    assert isinstance(published[2], events.Announcement)
    assert published[2].text == "Free shipping tonight"

    snapshot = await ShowSnapshots(db).snapshot(str(show.id))
    assert snapshot.show.state == "live"
    assert [i.title for i in snapshot.lineup] == ["Jacket", "Beanie"]
    assert snapshot.pinned is not None and snapshot.pinned.product_id == str(jacket)


async def test_only_the_lineup_can_be_pinned_and_only_by_hosts(db: Database) -> None:
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    show = await make_show(db, owner, merchant)
    await ShowLifecycle(db).stream_arrived(show.id)
    on_air = OnAir(db, LiveChannel(MemoryBroker()))
    stray = await _product(db, merchant.id, "Stray", [100], stock=1)
    with pytest.raises(ValidationFailed) as refused:
        await on_air.pin(await actor_of(db, owner), show.id, stray)
    assert refused.value.errors == {"product_id": "Add this product to the show's lineup first"}
    viewer = await make_user(db, "viewer@example.com")
    with pytest.raises(NotFound):
        await on_air.announce(await actor_of(db, viewer), show.id, "hi")
