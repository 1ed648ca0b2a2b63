import asyncio

import pytest
from sqlalchemy import func, select

from tests.integration.commerce.shop import Shop, open_shop
from vitrine.accounts.actor import GUEST, Actor
from vitrine.commerce.deals import TAP_BURST, DealService
from vitrine.commerce.errors import (
    BuyingNotAvailable,
    DealClosed,
    KeyReused,
    LimitReached,
    SoldOut,
)
from vitrine.commerce.gate import MemoryDealGate
from vitrine.commerce.models import (
    Deal,
    DealClaim,
    DealHold,
    Order,
    OrderEvent,
    OrderStatus,
    Reservation,
)
from vitrine.commerce.policy import BuyingPolicy
from vitrine.commerce.winners import DealPurchase
from vitrine.core.db import Database
from vitrine.core.errors import NotAllowed, NotSignedIn, RateLimited, ValidationFailed
from vitrine.core.ratelimit import MemoryRateLimiter


async def count(db: Database, model: type) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_deal_of_10_units_bought_by_50_shoppers_makes_10_orders_and_40_sold_outs(
    db: Database,
) -> None:
    shop = await open_shop(db, stock=25)
    shoppers = await shop.add_shoppers(50)
    deal = await shop.deals.start_deal(
        shop.host,
        shop.show_id,
        variant_id=shop.variant_id,
        deal_price=2_500,
        quantity=10,
        duration_s=60,
    )

    results = await asyncio.gather(
        *[
            shop.deals.buy(s, deal.deal_id, idempotency_key=f"tap-{s.user_id}", platform="ios")
            for s in shoppers
        ],
        return_exceptions=True,
    )
    await shop.deals.aclose()

    won = [r for r in results if not isinstance(r, BaseException)]
    sold_out = [r for r in results if isinstance(r, SoldOut)]
    assert len(won) == 10
    assert len(sold_out) == 40
    assert {str(error) for error in sold_out} == {"Sold out"}
    assert await count(db, DealHold) == 10
    assert await count(db, Order) == 0  # the rush writes holds; orders come with payment
    for shopper, result in zip(shoppers, results, strict=True):
        if isinstance(result, DealPurchase):
            await shop.deals.order_for_hold(shopper, result.hold_id)
    assert await count(db, Order) == 10
    assert await count(db, Reservation) == 10
    assert await count(db, DealClaim) == 10
    assert await count(db, OrderEvent) == 10
    assert await shop.stock() == 15  # 10 set aside for the deal when it started
    async with db.read() as session:
        deal_row = await session.get(Deal, deal.deal_id)
        orders = (await session.scalars(select(Order))).all()
    assert deal_row is not None and deal_row.claimed == 10
    assert {o.status for o in orders} == {OrderStatus.PENDING_PAYMENT}
    # 2,500 + 490 shipping + 20 % tax on the goods (500)
    assert {o.total for o in orders} == {3_490}
    assert shop.announcer.deals[-1].remaining == 0
    assert shop.announcer.deals[-1].status == "sold_out"


async def test_a_double_tapped_buy_makes_exactly_one_order(db: Database) -> None:
    shop = await open_shop(db)
    (shopper,) = await shop.add_shoppers(1)
    deal = await shop.deals.start_deal(
        shop.owner,
        shop.show_id,
        variant_id=shop.variant_id,
        deal_price=2_500,
        quantity=5,
        duration_s=60,
        per_shopper_limit=2,
    )

    first, second = await asyncio.gather(
        shop.deals.buy(shopper, deal.deal_id, idempotency_key="tap-1", platform="ios"),
        shop.deals.buy(shopper, deal.deal_id, idempotency_key="tap-1", platform="ios"),
    )
    later = await shop.deals.buy(shopper, deal.deal_id, idempotency_key="tap-1", platform="ios")

    assert first == second == later
    assert await count(db, DealHold) == 1
    order_id = await shop.deals.order_for_hold(shopper, first.hold_id)
    assert await shop.deals.order_for_hold(shopper, first.hold_id) == order_id
    assert await count(db, Order) == 1
    assert (await shop.deals.deal_state(deal.deal_id)).remaining == 4


async def test_the_per_shopper_limit_is_enforced_with_a_clear_message(db: Database) -> None:
    shop = await open_shop(db)
    (shopper,) = await shop.add_shoppers(1)
    deal = await shop.deals.start_deal(
        shop.owner,
        shop.show_id,
        variant_id=shop.variant_id,
        deal_price=2_500,
        quantity=5,
        duration_s=60,
        per_shopper_limit=2,
    )

    with pytest.raises(LimitReached, match="You can buy at most 2 in this deal"):
        await shop.deals.buy(shopper, deal.deal_id, idempotency_key="a", platform="ios", quantity=3)
    await shop.deals.buy(shopper, deal.deal_id, idempotency_key="b", platform="ios", quantity=1)
    await shop.deals.buy(shopper, deal.deal_id, idempotency_key="c", platform="ios", quantity=1)
    with pytest.raises(LimitReached, match="at most 2 in this deal; you already have 2"):
        await shop.deals.buy(shopper, deal.deal_id, idempotency_key="d", platform="ios")

    async with db.read() as session:
        claim = (await session.scalars(select(DealClaim))).one()
    assert claim.quantity == 2
    assert await count(db, DealHold) == 2


async def test_a_tap_after_the_end_says_how_long_ago_the_deal_ended(db: Database) -> None:
    shop = await open_shop(db)
    (shopper,) = await shop.add_shoppers(1)
    deal = await shop.deals.start_deal(
        shop.owner,
        shop.show_id,
        variant_id=shop.variant_id,
        deal_price=2_500,
        quantity=5,
        duration_s=30,
    )

    shop.clock.advance(seconds=33)

    with pytest.raises(DealClosed, match="This deal ended 3 s ago"):
        await shop.deals.buy(shopper, deal.deal_id, idempotency_key="late", platform="ios")
    assert await count(db, Order) == 0


async def test_a_deal_larger_than_the_stock_is_refused(db: Database) -> None:
    shop = await open_shop(db, stock=12)

    with pytest.raises(ValidationFailed) as refused:
        await shop.deals.start_deal(
            shop.owner,
            shop.show_id,
            variant_id=shop.variant_id,
            deal_price=2_500,
            quantity=50,
            duration_s=60,
        )

    assert refused.value.errors == {
        "quantity": "A deal of 50 units is larger than the stock: Silk scarf has 12 left"
    }
    assert await shop.stock() == 12
    assert await count(db, Deal) == 0


@pytest.mark.parametrize(
    ("price", "quantity", "duration", "limit", "field", "message"),
    [
        (-1, 5, 60, 1, "deal_price", "The deal price cannot be negative"),
        (
            4_000,
            5,
            60,
            1,
            "deal_price",
            "The deal price must be below the regular price (40.00 EUR)",
        ),
        (2_500, 0, 60, 1, "quantity", "A deal needs at least 1 unit"),
        (2_500, 5, 9, 1, "duration_s", "A deal lasts from 10 seconds to 60 minutes"),
        (2_500, 5, 3_601, 1, "duration_s", "A deal lasts from 10 seconds to 60 minutes"),
        (2_500, 5, 60, 0, "per_shopper_limit", "Allow at least 1 per shopper"),
    ],
)
async def test_bad_deal_terms_are_refused_field_by_field(
    db: Database, price: int, quantity: int, duration: int, limit: int, field: str, message: str
) -> None:
    shop = await open_shop(db)

    with pytest.raises(ValidationFailed) as refused:
        await shop.deals.start_deal(
            shop.owner,
            shop.show_id,
            variant_id=shop.variant_id,
            deal_price=price,
            quantity=quantity,
            duration_s=duration,
            per_shopper_limit=limit,
        )

    assert refused.value.errors == {field: message}
    assert await shop.stock() == 10


async def test_only_hosts_and_staff_start_deals(db: Database) -> None:
    shop = await open_shop(db)
    (shopper,) = await shop.add_shoppers(1)

    with pytest.raises(NotAllowed):
        await shop.deals.start_deal(
            shopper,
            shop.show_id,
            variant_id=shop.variant_id,
            deal_price=1,
            quantity=1,
            duration_s=60,
        )
    with pytest.raises(NotSignedIn):
        await shop.deals.start_deal(
            GUEST,
            shop.show_id,
            variant_id=shop.variant_id,
            deal_price=1,
            quantity=1,
            duration_s=60,
        )


async def test_a_watch_only_platform_cannot_buy(db: Database) -> None:
    shop = await open_shop(db, buying=BuyingPolicy(("ios", "desktop")))
    (shopper,) = await shop.add_shoppers(1)
    deal = await shop.deals.start_deal(
        shop.owner,
        shop.show_id,
        variant_id=shop.variant_id,
        deal_price=2_500,
        quantity=5,
        duration_s=60,
    )

    with pytest.raises(BuyingNotAvailable) as refused:
        await shop.deals.buy(shopper, deal.deal_id, idempotency_key="k", platform="android")

    assert str(refused.value) == "Buying is not available on Android yet; you can keep watching"
    assert await count(db, Order) == 0


async def test_unsold_units_return_to_stock_when_the_deal_ends(db: Database) -> None:
    shop = await open_shop(db, stock=10)
    (shopper,) = await shop.add_shoppers(1)
    deal = await shop.deals.start_deal(
        shop.owner,
        shop.show_id,
        variant_id=shop.variant_id,
        deal_price=2_500,
        quantity=6,
        duration_s=60,
    )
    await shop.deals.buy(shopper, deal.deal_id, idempotency_key="k", platform="ios")
    assert await shop.stock() == 4

    shop.clock.advance(seconds=61)
    assert await shop.deals.close_ended() == 0  # still within the grace for late writes
    shop.clock.advance(seconds=5)
    assert await shop.deals.close_ended() == 1

    assert await shop.stock() == 9
    state = await shop.deals.deal_state(deal.deal_id)
    assert (state.status, state.remaining) == ("ended", 0)
    assert shop.announcer.deals[-1].status == "ended"
    assert shop.announcer.stock[-1] == (shop.show_id, shop.variant_id, 9)


async def test_a_host_ends_a_deal_early_and_later_taps_are_refused(db: Database) -> None:
    shop = await open_shop(db, stock=10)
    (shopper,) = await shop.add_shoppers(1)
    deal = await shop.deals.start_deal(
        shop.host,
        shop.show_id,
        variant_id=shop.variant_id,
        deal_price=2_500,
        quantity=6,
        duration_s=600,
    )

    await shop.deals.end_deal(shop.host, deal.deal_id)
    shop.clock.advance(seconds=2)

    with pytest.raises(DealClosed, match="This deal ended 2 s ago"):
        await shop.deals.buy(shopper, deal.deal_id, idempotency_key="k", platform="ios")
    assert await shop.stock() == 10


async def test_a_restarted_instance_reloads_the_deal_and_still_never_oversells(
    db: Database,
) -> None:
    shop = await open_shop(db, stock=10)
    first, second, third = await shop.add_shoppers(3)
    deal = await shop.deals.start_deal(
        shop.owner,
        shop.show_id,
        variant_id=shop.variant_id,
        deal_price=2_500,
        quantity=2,
        duration_s=60,
    )
    won = await shop.deals.buy(first, deal.deal_id, idempotency_key="k1", platform="ios")
    await shop.deals.aclose()

    restarted = await open_shop_services_again(shop)

    again = await restarted.buy(first, deal.deal_id, idempotency_key="k1", platform="ios")
    assert again == won
    await restarted.buy(second, deal.deal_id, idempotency_key="k2", platform="ios")
    with pytest.raises(SoldOut):
        await restarted.buy(third, deal.deal_id, idempotency_key="k3", platform="ios")
    await restarted.aclose()
    assert await count(db, DealHold) == 2


async def open_shop_services_again(shop: Shop) -> DealService:
    """A new process: a fresh in-memory gate and service, the same database."""
    return DealService(shop.db, MemoryDealGate(), shop.announcer, clock=shop.clock)


async def test_guests_must_sign_in_to_buy(db: Database) -> None:
    shop = await open_shop(db)
    deal = await shop.deals.start_deal(
        shop.owner,
        shop.show_id,
        variant_id=shop.variant_id,
        deal_price=2_500,
        quantity=5,
        duration_s=60,
    )

    with pytest.raises(NotSignedIn):
        await shop.deals.buy(Actor(), deal.deal_id, idempotency_key="k", platform="ios")


async def test_one_key_sent_again_in_another_deal_is_refused(db: Database) -> None:
    shop = await open_shop(db, stock=10)
    (shopper,) = await shop.add_shoppers(1)
    first = await shop.deals.start_deal(
        shop.owner,
        shop.show_id,
        variant_id=shop.variant_id,
        deal_price=100,
        quantity=2,
        duration_s=60,
    )
    won = await shop.deals.buy(shopper, first.deal_id, idempotency_key="k", platform="ios")
    await shop.deals.end_deal(shop.owner, first.deal_id)
    second = await shop.deals.start_deal(
        shop.owner,
        shop.show_id,
        variant_id=shop.variant_id,
        deal_price=100,
        quantity=2,
        duration_s=60,
    )

    with pytest.raises(KeyReused, match="already used in another deal"):
        await shop.deals.buy(shopper, second.deal_id, idempotency_key="k", platform="ios")
    assert (await shop.deals.deal_state(second.deal_id)).remaining == 2
    assert won.deal_id == first.deal_id


async def test_a_shopper_tapping_faster_than_a_person_is_told_to_wait(db: Database) -> None:
    shop = await open_shop(db, stock=10)
    (shopper,) = await shop.add_shoppers(1)
    paced = DealService(
        db, MemoryDealGate(), shop.announcer, clock=shop.clock, limiter=MemoryRateLimiter()
    )
    deal = await paced.start_deal(
        shop.owner,
        shop.show_id,
        variant_id=shop.variant_id,
        deal_price=100,
        quantity=1,
        duration_s=60,
    )
    await paced.buy(shopper, deal.deal_id, idempotency_key="win", platform="ios")
    for tap in range(TAP_BURST - 1):
        with pytest.raises(LimitReached):
            await paced.buy(shopper, deal.deal_id, idempotency_key=f"t{tap}", platform="ios")

    with pytest.raises(RateLimited, match="Too many taps; wait 1 s and try again"):
        await paced.buy(shopper, deal.deal_id, idempotency_key="one-more", platform="ios")
    await paced.aclose()
