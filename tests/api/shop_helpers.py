"""A live show with things to buy, set up through the database for the buying pages' tests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from tests.factories import make_merchant, make_show, make_user
from vitrine.catalog.models import Product, ProductStatus, Variant
from vitrine.core.db import Database
from vitrine.shows.live_state import ShowLifecycle
from vitrine.shows.models import ShowStatus

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 Rue de la Paix",
    "line2": "",
    "postal_code": "75002",
    "city": "Paris",
    "country": "fr",
}
ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Mobile Safari/537.36"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile"


@dataclass(frozen=True)
class LiveShop:
    merchant_id: int
    show_id: int
    scarf_id: int  # two sizes: S (3 in stock, 40.00, was 50.00) and M (sold out)
    scarf_s: int
    scarf_m: int
    bowl_id: int  # sold on the brand's own site


async def _product(db: Database, merchant_id: int, title: str, *, external_url: str = "") -> int:
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
        return product.id


async def _variant(
    db: Database,
    merchant_id: int,
    product_id: int,
    sku: str,
    *,
    size: str,
    price: int,
    stock: int,
    compare_at: int | None = None,
) -> int:
    async with db.write() as tx:
        variant = Variant(
            product_id=product_id,
            merchant_id=merchant_id,
            sku=sku,
            options={"size": size},
            price=price,
            compare_at_price=compare_at,
            stock=stock,
        )
        tx.session.add(variant)
        await tx.session.flush()
        return variant.id


async def live_shop(db: Database) -> LiveShop:
    """Northwind (10 % commission, 5.00 shipping, 20 % tax) live with a scarf and a bowl.
    Owner: owner@example.com; the operator: operator-northwind@example.com."""
    from vitrine.accounts.models import Merchant

    owner = await make_user(db, "owner@example.com", name="Olga")
    merchant = await make_merchant(db, owner, "northwind")
    async with db.write() as tx:
        row = await tx.session.get(Merchant, merchant.id)
        assert row is not None
        row.shipping_flat, row.tax_bps = 500, 2_000
    scarf = await _product(db, merchant.id, "Silk scarf")
    small = await _variant(
        db, merchant.id, scarf, "SCARF-S", size="S", price=4_000, stock=3, compare_at=5_000
    )
    medium = await _variant(db, merchant.id, scarf, "SCARF-M", size="M", price=4_000, stock=0)
    bowl = await _product(db, merchant.id, "Walnut bowl", external_url="https://nw.example/bowl")
    await _variant(db, merchant.id, bowl, "BOWL", size="One", price=3_000, stock=5)
    show = await make_show(db, owner, merchant, hours=0.1, product_ids=(scarf, bowl))
    went = await ShowLifecycle(db).stream_arrived(show.id)
    assert went.status is ShowStatus.LIVE
    return LiveShop(merchant.id, show.id, scarf, small, medium, bowl)


async def stock_of(db: Database, variant_id: int) -> int:
    async with db.read() as session:
        value = await session.scalar(select(Variant.stock).where(Variant.id == variant_id))
    assert value is not None
    return value


async def start_deal(db: Database, shop: LiveShop, *, quantity: int, price: int = 1_900) -> int:
    """The host starts a deal on the scarf (S). The app's own deal service finds it in the
    database at the first tap, as a restarted instance would."""
    from tests.factories import actor_of
    from vitrine.accounts.actor import Actor
    from vitrine.accounts.models import User
    from vitrine.commerce.announce import SilentAnnouncer
    from vitrine.commerce.deals import DealService
    from vitrine.commerce.gate import MemoryDealGate

    async with db.read() as session:
        owner = await session.scalar(select(User).where(User.email == "owner@example.com"))
    assert owner is not None
    host: Actor = await actor_of(db, owner)
    deals = DealService(db, MemoryDealGate(), SilentAnnouncer())
    try:
        state = await deals.start_deal(
            host,
            shop.show_id,
            deal_price=price,
            quantity=quantity,
            duration_s=120,
            variant_id=shop.scarf_s,
        )
    finally:
        await deals.aclose()
    return state.deal_id
