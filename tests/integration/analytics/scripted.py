"""A show whose every number is known in advance: who watched when, what was said, clicked,
carted and bought. Used by the report tests on both databases and by the Chromium test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from tests.factories import make_merchant, make_show, make_user
from vitrine.accounts.models import Follow, Merchant, User
from vitrine.analytics.recorder import ViewRecorder
from vitrine.catalog.models import Product, ProductStatus, Variant
from vitrine.chat.models import ChatMessage
from vitrine.commerce.models import Cart, CartLine, Order, OrderLine, OrderStatus
from vitrine.core.db import Database
from vitrine.shows.models import Show, ShowStatus

STARTED = datetime(2026, 3, 14, 18, 0, tzinfo=UTC)
ENDED = STARTED + timedelta(minutes=30)


def at(minutes: float) -> float:
    """Unix time `minutes` after the show started."""
    return (STARTED + timedelta(minutes=minutes)).timestamp()


@dataclass(frozen=True, slots=True)
class ScriptedShow:
    show_id: int
    merchant: Merchant
    owner: User
    scarf_id: int  # clicked twice, bought once (49.00 EUR)
    mug_id: int  # carted once, not bought
    hat_id: int  # in the lineup, untouched


async def _product(db: Database, merchant_id: int, handle: str, title: str, price: int) -> int:
    async with db.write() as tx:
        product = Product(
            merchant_id=merchant_id,
            handle=handle,
            title=title,
            status=ProductStatus.ACTIVE,
            currency="EUR",
        )
        tx.session.add(product)
        await tx.session.flush()
        tx.session.add(
            Variant(
                product_id=product.id, merchant_id=merchant_id, sku=handle, price=price, stock=9
            )
        )
        return product.id


async def variant_of(db: Database, product_id: int) -> int:
    async with db.read() as session:
        return int(
            (
                await session.execute(select(Variant.id).where(Variant.product_id == product_id))
            ).scalar_one()
        )


async def scripted_show(db: Database, *, handle: str = "atelier") -> ScriptedShow:
    """Given 3 viewers who join and leave at known times, 2 chat messages, 5 reactions, 2
    product clicks, 1 add-to-cart, 1 paid order of 49.00 EUR and 1 follower gained."""
    owner = await make_user(db, f"owner@{handle}.example")
    merchant = await make_merchant(db, owner, handle)
    scarf = await _product(db, merchant.id, "silk-scarf", "Silk scarf", 4_900)
    mug = await _product(db, merchant.id, "stoneware-mug", "Stoneware mug", 1_800)
    hat = await _product(db, merchant.id, "straw-hat", "Straw hat", 3_500)
    show = await make_show(db, owner, merchant, title="Spring live", product_ids=(scarf, mug, hat))
    async with db.write() as tx:
        await tx.session.execute(
            update(Show)
            .where(Show.id == show.id)
            .values(status=ShowStatus.ENDED, started_at=STARTED, ended_at=ENDED)
        )
    ana = await make_user(db, f"ana@{handle}.example", name="Ana")
    ben = await make_user(db, f"ben@{handle}.example", name="Ben")

    # Ana 0–10 min, Ben 2–5 min, a guest 3–20 min: 3 views, 3 at once from 3 to 5 min,
    # watch time (10 + 3 + 17) / 3 = 10 min.
    views = ViewRecorder(db)
    sid = str(show.id)
    views.viewer_joined(sid, f"u{ana.id}", at(0))
    views.viewer_joined(sid, f"u{ben.id}", at(2))
    views.viewer_joined(sid, "a0123456789abcdef", at(3))
    views.viewer_left(sid, f"u{ben.id}", at(5))
    views.viewer_left(sid, f"u{ana.id}", at(10))
    views.viewer_left(sid, "a0123456789abcdef", at(20))
    views.reactions(sid, {"❤️": 3, "🔥": 2}, at=at(4))
    views.product_clicked(show.id, scarf)
    views.product_clicked(show.id, scarf)
    await views.flush()

    mug_variant = await variant_of(db, mug)
    scarf_variant = await variant_of(db, scarf)
    async with db.write() as tx:
        session = tx.session
        for who, text, minute in ((ana, "Is it real silk?", 4), (ben, "Love it", 4.5)):
            session.add(
                ChatMessage(
                    show_id=show.id,
                    user_id=who.id,
                    author_name=who.display_name,
                    text=text,
                    sent_at=STARTED + timedelta(minutes=minute),
                )
            )
        # Ben puts a mug in his cart and leaves it there.
        cart = Cart(user_id=ben.id)
        session.add(cart)
        await session.flush()
        session.add(CartLine(cart_id=cart.id, variant_id=mug_variant, quantity=1, show_id=show.id))
        # Ana buys the scarf: her cart line became this order.
        order = Order(
            merchant_id=merchant.id,
            buyer_id=ana.id,
            show_id=show.id,
            idempotency_key="scripted-1",
            status=OrderStatus.PAID,
            currency="EUR",
            subtotal=4_900,
            shipping=0,
            tax=0,
            total=4_900,
            created_at=STARTED + timedelta(minutes=6),
            paid_at=STARTED + timedelta(minutes=6),
        )
        session.add(order)
        await session.flush()
        session.add(
            OrderLine(
                order_id=order.id,
                variant_id=scarf_variant,
                product_title="Silk scarf",
                sku="silk-scarf",
                unit_price=4_900,
                quantity=1,
            )
        )
        # Ana follows during the show; Ben only two hours after it ended.
        session.add(Follow(user_id=ana.id, merchant_id=merchant.id, created_at=at_dt(7)))
        session.add(Follow(user_id=ben.id, merchant_id=merchant.id, created_at=at_dt(150)))
    return ScriptedShow(show.id, merchant, owner, scarf, mug, hat)


def at_dt(minutes: float) -> datetime:
    return STARTED + timedelta(minutes=minutes)
