"""The Redis gate: the same answers as the in-process one, shared by several instances."""

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from tests.backends import REDIS_URL
from tests.integration.commerce.shop import open_shop
from vitrine.commerce.deals import DealService
from vitrine.commerce.errors import SoldOut
from vitrine.commerce.gate import GateAnswer, Outcome, RedisDealGate
from vitrine.commerce.models import DealHold
from vitrine.core.db import Database

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not REDIS_URL, reason="VITRINE_TEST_REDIS_URL is not set"),
]

FAR = 3_600_000  # an hour, in ms


@pytest.fixture
async def gate() -> AsyncIterator[RedisDealGate]:
    gate = RedisDealGate.from_url(REDIS_URL, prefix=f"test:{secrets.token_hex(4)}")
    yield gate
    await gate.close(1)
    await gate.aclose()


async def test_the_redis_gate_never_lets_more_win_than_there_are_units(gate: RedisDealGate) -> None:
    await gate.open(1, remaining=3, bought={}, ttl_ms=FAR)

    answers = await asyncio.gather(*[gate.claim(1, buyer, 1, 1, "k") for buyer in range(20)])

    assert [a.outcome for a in answers].count(Outcome.WON) == 3
    assert [a.outcome for a in answers].count(Outcome.SOLD_OUT) == 17


async def test_a_retried_key_gets_its_first_answer_from_redis(gate: RedisDealGate) -> None:
    await gate.open(1, remaining=1, bought={}, ttl_ms=FAR)

    first = await gate.claim(1, 7, 1, 1, "tap")
    again = await gate.claim(1, 7, 1, 1, "tap")
    other = await gate.claim(1, 8, 1, 1, "tap")

    assert first == GateAnswer(Outcome.WON, 0, 0)
    assert again == GateAnswer(Outcome.WON, 0, 0, repeat=True)
    assert other == GateAnswer(Outcome.SOLD_OUT, 0, 0)


async def test_opening_twice_keeps_the_first_state_and_limits_hold(gate: RedisDealGate) -> None:
    await gate.open(1, remaining=5, bought={7: 2}, ttl_ms=FAR)
    await gate.open(1, remaining=100, bought={}, ttl_ms=FAR)

    assert await gate.claim(1, 7, 1, 2, "a") == GateAnswer(Outcome.LIMIT_REACHED, 5, 2)
    assert await gate.claim(1, 8, 1, 2, "a") == GateAnswer(Outcome.WON, 4, 0)


async def test_give_back_returns_the_unit(gate: RedisDealGate) -> None:
    await gate.open(1, remaining=1, bought={}, ttl_ms=FAR)
    await gate.claim(1, 7, 1, 1, "a")

    await gate.give_back(1, 7, 1, "a")

    assert (await gate.claim(1, 8, 1, 1, "b")).outcome is Outcome.WON


async def test_the_keys_expire_with_the_deal(gate: RedisDealGate) -> None:
    await gate.open(1, remaining=1, bought={}, ttl_ms=FAR)
    await gate.claim(1, 7, 1, 1, "a")

    ttls = [await gate._redis.pttl(key) for key in gate._keys(1)]

    assert all(ttl > 0 for ttl in ttls)


async def test_two_instances_sharing_redis_sell_a_deal_without_overselling(db: Database) -> None:
    prefix = f"test:{secrets.token_hex(4)}"
    first_gate = RedisDealGate.from_url(REDIS_URL, prefix=prefix)
    second_gate = RedisDealGate.from_url(REDIS_URL, prefix=prefix)
    shop = await open_shop(db, stock=20, gate=first_gate)
    other = DealService(db, second_gate, shop.announcer, clock=shop.clock)
    shoppers = await shop.add_shoppers(30)
    deal = await shop.deals.start_deal(
        shop.owner,
        shop.show_id,
        variant_id=shop.variant_id,
        deal_price=100,
        quantity=8,
        duration_s=60,
    )

    results = await asyncio.gather(
        *[
            (shop.deals if i % 2 else other).buy(
                s, deal.deal_id, idempotency_key="tap", platform="ios"
            )
            for i, s in enumerate(shoppers)
        ],
        return_exceptions=True,
    )
    await shop.deals.aclose()
    await other.aclose()

    assert [r for r in results if isinstance(r, BaseException) and not isinstance(r, SoldOut)] == []
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 8
    assert sum(1 for r in results if isinstance(r, SoldOut)) == 22
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(DealHold)) == 8
    await first_gate.close(deal.deal_id)
    await first_gate.aclose()
    await second_gate.aclose()


async def test_a_win_whose_instance_died_before_writing_it_is_decided_again(
    db: Database,
) -> None:
    prefix = f"test:{secrets.token_hex(4)}"
    dead_gate = RedisDealGate.from_url(REDIS_URL, prefix=prefix)
    live_gate = RedisDealGate.from_url(REDIS_URL, prefix=prefix)
    shop = await open_shop(db, stock=5, gate=live_gate)
    (shopper,) = await shop.add_shoppers(1)
    assert shopper.user_id is not None
    deal = await shop.deals.start_deal(
        shop.owner,
        shop.show_id,
        variant_id=shop.variant_id,
        deal_price=100,
        quantity=1,
        duration_s=60,
    )
    # Another instance's gate said "won" to this tap, then the instance was killed (-9)
    # before its winner writer ran: Redis remembers the win, the database has nothing.
    said = await dead_gate.claim(deal.deal_id, shopper.user_id, 1, 1, "tap")
    assert said.outcome is Outcome.WON
    retrying = DealService(db, live_gate, shop.announcer, clock=shop.clock, write_waits=(0.0, 0.01))

    retried = await retrying.buy(shopper, deal.deal_id, idempotency_key="tap", platform="ios")
    again = await retrying.buy(shopper, deal.deal_id, idempotency_key="tap", platform="ios")

    assert again == retried
    assert retried.deal_id == deal.deal_id
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(DealHold)) == 1
    await retrying.aclose()
    await shop.deals.aclose()
    await live_gate.close(deal.deal_id)
    await dead_gate.aclose()
    await live_gate.aclose()
