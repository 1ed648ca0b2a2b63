"""The demo brand, its products and a show, seeded through the same services a merchant uses.
Idempotent: running it again changes nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from vitrine.accounts import merchants
from vitrine.accounts.actor import Actor
from vitrine.accounts.models import Merchant, User
from vitrine.accounts.users import SignUp, actor_for_user, ensure_user
from vitrine.catalog.models import Product, ProductStatus, Variant
from vitrine.config import Settings
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.shows import schedule
from vitrine.shows.models import Show, ShowStatus

OPERATOR = ("operator", "admin@vitrine.local", "vitrine-admin")
MERCHANT = ("merchant", "owner@northwind.example", "northwind-demo")
SHOPPER = ("shopper", "shopper@vitrine.local", "vitrine-shopper")
DEMO_HANDLE = "northwind"

PRODUCTS = [
    ("Merino beanie", "NW-BEANIE", 2900, 3900, [("colour", "Charcoal"), ("colour", "Rust")], 40),
    (
        "Waxed field jacket",
        "NW-JACKET",
        18900,
        24900,
        [("size", "S"), ("size", "M"), ("size", "L")],
        12,
    ),
    ("Trail flask 500 ml", "NW-FLASK", 2400, None, [], 80),
    ("Wool blanket", "NW-BLANKET", 8900, 11900, [], 20),
]


async def seed_demo(db: Database, settings: Settings) -> list[tuple[str, str, str]]:
    operator = await ensure_user(db, SignUp(OPERATOR[1], OPERATOR[2], "Operator"), operator=True)
    owner = await ensure_user(db, SignUp(MERCHANT[1], MERCHANT[2], "Northwind"), operator=False)
    await ensure_user(db, SignUp(SHOPPER[1], SHOPPER[2], "Sam Shopper"), operator=False)
    merchant = await _ensure_merchant(db, owner, operator, settings)
    owner_actor = await _actor(db, owner)
    product_ids = await _ensure_products(db, merchant)
    await _ensure_show(db, owner_actor, merchant, product_ids)
    return [OPERATOR, MERCHANT, SHOPPER]


async def _actor(db: Database, user: User) -> Actor:
    async with db.read() as session:
        return await actor_for_user(session, user)


async def _ensure_merchant(
    db: Database, owner: User, operator: User, settings: Settings
) -> Merchant:
    async with db.read() as session:
        existing = await session.scalar(select(Merchant).where(Merchant.handle == DEMO_HANDLE))
    if existing is not None:
        return existing
    application = merchants.Application(
        brand_name="Northwind Outfitters",
        handle=DEMO_HANDLE,
        description="Outdoor clothing and gear, shown live every week.",
        website="https://northwind.example",
        contact_email=MERCHANT[1],
        currency="EUR",
        time_zone="Europe/Paris",
    )
    merchant = await merchants.apply(
        db, await _actor(db, owner), application, commission_bps=settings.default_commission_bps
    )
    await merchants.decide(db, await _actor(db, operator), merchant.id, approve=True)
    return merchant


async def _ensure_products(db: Database, merchant: Merchant) -> list[int]:
    async with db.write() as tx:
        ids = []
        for title, sku, price, compare_at, options, stock in PRODUCTS:
            product = await tx.session.scalar(
                select(Product).where(Product.merchant_id == merchant.id, Product.title == title)
            )
            if product is None:
                product = Product(
                    merchant_id=merchant.id,
                    handle=sku.lower(),
                    title=title,
                    status=ProductStatus.ACTIVE,
                    currency="EUR",
                )
                tx.session.add(product)
                await tx.session.flush()
                for index, (name, value) in enumerate(options or [("", "")]):
                    tx.session.add(
                        Variant(
                            product_id=product.id,
                            merchant_id=merchant.id,
                            sku=f"{sku}-{value.upper()}" if value else sku,
                            options={name: value} if name else {},
                            price=price,
                            compare_at_price=compare_at,
                            stock=stock,
                            position=index,
                        )
                    )
            ids.append(product.id)
    return ids


async def _ensure_show(
    db: Database, owner: Actor, merchant: Merchant, product_ids: list[int]
) -> Show:
    async with db.read() as session:
        existing = await session.scalar(
            select(Show).where(Show.merchant_id == merchant.id).limit(1)
        )
    if existing is not None:
        return existing
    starts = (utc_now() + timedelta(minutes=5)).isoformat(timespec="minutes")
    return await schedule.schedule_show(
        db,
        owner,
        merchant.id,
        schedule.ShowDraft(
            title="Winter layers, live",
            description="Our designers try on the new winter range. Ask anything in the chat.",
            starts_local=starts,
            expected_minutes=30,
            product_ids=tuple(product_ids),
        ),
    )


async def demo_show(db: Database) -> Show | None:
    """The demo brand's show that is live or about to be (a new one is seeded once the
    previous one has ended)."""
    async with db.read() as session:
        return await session.scalar(
            select(Show)
            .join(Merchant, Merchant.id == Show.merchant_id)
            .where(
                Merchant.handle == DEMO_HANDLE,
                Show.status.in_([ShowStatus.LIVE, ShowStatus.SCHEDULED]),
            )
            .order_by(Show.id)
            .limit(1)
        )
