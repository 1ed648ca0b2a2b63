import pytest
from sqlalchemy import select

from tests.integration.commerce.shop import HOME, open_shop
from vitrine.commerce.external import ExternalClicks
from vitrine.commerce.gateway import TestCards
from vitrine.commerce.models import LedgerEntry, OrderStatus
from vitrine.core.db import Database
from vitrine.core.errors import NotFound, ValidationFailed


async def test_a_deal_win_is_paid_with_the_test_card_and_the_merchant_sees_its_commission(
    db: Database,
) -> None:
    shop = await open_shop(db, commission_bps=1_500, shipping_flat=0, tax_bps=0)
    (shopper,) = await shop.add_shoppers(1)
    deal = await shop.deals.start_deal(
        shop.host,
        shop.show_id,
        variant_id=shop.variant_id,
        deal_price=2_000,
        quantity=3,
        duration_s=120,
    )
    won = await shop.deals.buy(shopper, deal.deal_id, idempotency_key="tap", platform="ios")
    order_id = await shop.deals.order_for_hold(shopper, won.hold_id)

    with pytest.raises(ValidationFailed, match="Add a shipping address before paying"):
        await shop.payments.pay(shopper, order_id, card_number=TestCards.SUCCEEDS, platform="ios")
    await shop.orders.set_shipping_address(shopper, order_id, HOME)
    paid = await shop.payments.pay(
        shopper, order_id, card_number=TestCards.SUCCEEDS, platform="ios"
    )

    assert paid.order_status == OrderStatus.PAID
    (listed,) = await shop.orders.merchant_orders(shop.owner, shop.merchant_id)
    assert (listed.id, listed.deal_id, listed.total) == (order_id, deal.deal_id, 2_000)
    async with db.read() as session:
        entries = (await session.scalars(select(LedgerEntry.amount).order_by(LedgerEntry.id))).all()
    assert entries == [2_000, 300, 1_700]


async def test_external_product_clicks_are_counted_per_show(db: Database) -> None:
    shop = await open_shop(db)
    (shopper,) = await shop.add_shoppers(1)
    product_id, _ = await shop.add_product(
        "Walnut bowl", price=3_000, stock=1, external_url="https://brand.example/bowl"
    )
    clicks = ExternalClicks(db, clock=shop.clock)

    url = await clicks.open_external(shopper, shop.show_id, product_id)
    await clicks.open_external(shopper, shop.show_id, product_id)

    assert url == "https://brand.example/bowl"
    assert await clicks.clicks(shop.show_id) == {product_id: 2}
    with pytest.raises(NotFound):
        await clicks.open_external(shopper, shop.show_id, shop.product_id)  # no external page


async def test_a_won_hold_that_expired_before_paying_is_paid_if_the_unit_is_still_there(
    db: Database,
) -> None:
    shop = await open_shop(db, stock=5, shipping_flat=0, tax_bps=0)
    (shopper,) = await shop.add_shoppers(1)
    deal = await shop.deals.start_deal(
        shop.host,
        shop.show_id,
        variant_id=shop.variant_id,
        deal_price=2_000,
        quantity=1,
        duration_s=60,
    )
    won = await shop.deals.buy(shopper, deal.deal_id, idempotency_key="tap", platform="ios")
    await shop.deals.aclose()

    shop.clock.advance(minutes=11)
    released = await shop.reservations.release_expired()
    stock_after_expiry = await shop.stock()
    order_id = await shop.deals.order_for_hold(shopper, won.hold_id)
    await shop.orders.set_shipping_address(shopper, order_id, HOME)
    paid = await shop.payments.pay(
        shopper, order_id, card_number=TestCards.SUCCEEDS, platform="ios"
    )

    assert released == 1
    assert stock_after_expiry == 5  # 4 on the shelf + the unit the hold gave back
    assert paid.order_status == OrderStatus.PAID
    assert await shop.stock() == 4
    assert [event.kind for event in await shop.orders.history(shopper, order_id)][:2] == [
        "placed",
        "hold_expired",
    ]
