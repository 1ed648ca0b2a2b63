"""Two instances, one show: what a host does on one reaches viewers on the other, and a flash
deal bought through both at once sells exactly what it holds. These tests only add to the
shop, so they share one topology."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.cluster.buying import PAYMENT, buy_and_pay, start_deal
from tests.cluster.conftest import SOLD, Shop, metric, orders_of_deal, running_cluster
from tests.cluster.people import Viewer
from vitrine.commerce.gateway import TestCards
from vitrine.commerce.models import OrderStatus
from vitrine.deploy.local import LocalCluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    yield from running_cluster(tmp_path_factory.mktemp("cluster"))


async def test_a_viewer_on_one_instance_sees_pins_chat_and_deals_made_on_the_other(
    shop: Shop,
) -> None:
    a, b = shop.cluster.web
    # given a viewer watching on instance A, and a shopper chatting on instance B
    viewer = await Viewer(shop.live_url(a.live_url)).start()
    shopper = shop.person(shop.shoppers[0], b.url)
    await shopper.log_in()
    chatter = await Viewer(shop.live_url(b.live_url), cookie=shopper.cookie_header).start()
    assert await metric(a.url, "vitrine_live_connections") == 1
    assert await metric(b.url, "vitrine_live_connections") == 1

    # when the host pins a product and starts a deal on instance B
    pinned = await shop.host.act(
        f"{b.url}/studio/{shop.show_id}/pin", {"product_id": shop.flask_id}
    )
    assert pinned.status_code == 200, pinned.text
    deal_id = await start_deal(shop.host, shop.show_id, shop.flask_id, quantity=5, base=b.url)
    # and the shopper says something and buys on instance B
    assert (await chatter.say("Is the flask dishwasher safe?"))["type"] == "ack"
    bought = await shopper.act(f"{b.url}/deals/{deal_id}/buy", {"idempotency_key": "tap-1"})
    assert bought.status_code == 201, bought.text

    # then the viewer on instance A sees all of it, in order, missing nothing
    pin = await viewer.wait_to_see("product_pinned", product_id=str(shop.flask_id))
    assert (pin["title"], pin["price_minor"], pin["currency"]) == (
        "Trail flask 500 ml",
        2400,
        "EUR",
    )
    deal = await viewer.wait_to_see("deal_started", deal_id=str(deal_id))
    assert (deal["price_minor"], deal["stock_left"]) == (1900, 5)
    chat = await viewer.wait_to_see("chat_message", text="Is the flask dishwasher safe?")
    assert chat["author_name"] == "shopper0"
    await viewer.wait_to_see("deal_updated", deal_id=str(deal_id), stock_left=4)
    assert viewer.missed_nothing()
    assert len(viewer.snapshots) == 1
    assert viewer.seqs == chatter.seqs[: len(viewer.seqs)]  # one numbering for both instances
    # and A counted what it wrote to its only viewer
    assert await metric(a.url, "vitrine_live_events_delivered_total") >= len(viewer.seqs)

    await viewer.stop()
    await chatter.stop()
    await shopper.aclose()


async def test_a_deal_bought_through_both_instances_at_once_is_never_oversold(
    shop: Shop,
) -> None:
    a, b = shop.cluster.web
    before = await gate_decisions(a.url, b.url)
    deal_id = await start_deal(shop.host, shop.show_id, shop.flask_id, quantity=10)

    # when 40 shoppers tap Buy at once, half on each instance, and the winners pay
    shoppers = [shop.person(email, (a, b)[n % 2].url) for n, email in enumerate(shop.shoppers)]
    await asyncio.gather(*(shopper.log_in() for shopper in shoppers))
    taps = await asyncio.gather(*(buy_and_pay(s, deal_id, answered=lambda: None) for s in shoppers))

    # then exactly 10 won, the 30 others were told it sold out
    winners = [tap for tap in taps if tap.won]
    assert len(winners) == 10
    assert sorted(tap.answers[-1] for tap in taps if not tap.won) == [409] * 30
    # and the database holds 10 paid orders, one per winner, and nothing more
    sold = await orders_of_deal(shop.cluster, deal_id)
    assert sum(unit.quantity for unit in sold if unit.status in SOLD) == 10
    assert sorted(unit.order_id for unit in sold if unit.status is OrderStatus.PAID) == sorted(
        tap.paid["order_id"] for tap in winners if tap.paid
    )
    assert all(tap.paid for tap in winners)
    # and each instance's gate decided the 20 taps it was sent, 10 wins between them
    after = await gate_decisions(a.url, b.url)
    taps_on = [sum(after[i][o] - before[i][o] for o in ("won", "sold_out")) for i in (0, 1)]
    assert taps_on == [20, 20]
    assert after[0]["won"] - before[0]["won"] + after[1]["won"] - before[1]["won"] == 10
    for shopper in shoppers:
        await shopper.aclose()


async def gate_decisions(*instances: str) -> list[dict[str, float]]:
    return [
        {
            outcome: await metric(url, f'vitrine_deal_gate_decisions_total{{outcome="{outcome}"}}')
            for outcome in ("won", "sold_out")
        }
        for url in instances
    ]


async def test_a_card_charged_on_one_instance_is_confirmed_on_the_other(shop: Shop) -> None:
    a, b = shop.cluster.web
    deal_id = await start_deal(shop.host, shop.show_id, shop.blanket_id, quantity=1)
    shopper = shop.person(shop.shoppers[-1], a.url)
    await shopper.log_in()

    # when the winner pays on A with a card that needs the bank, and confirms on B
    won = await shopper.act(f"/deals/{deal_id}/buy", {"idempotency_key": "bank-step"})
    assert won.status_code == 201, won.text
    asked = await shopper.act(
        won.json()["pay_url"], {**PAYMENT, "card_number": TestCards.NEEDS_CONFIRMATION}
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["payment_status"] == "requires_action"
    confirmed = await shopper.act(f"{b.url}{asked.json()['confirm_url']}")

    # then the payment went through and the order is paid
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["payment_status"] == "succeeded"
    order_id = asked.json()["order_id"]  # the win became an order on the way to payment
    for _ in range(120):  # the gateway's webhook arrives through nginx, at either instance
        sold = await orders_of_deal(shop.cluster, deal_id)
        if [unit.status for unit in sold] == [OrderStatus.PAID]:
            break
        await asyncio.sleep(0.25)
    assert [(unit.order_id, unit.status) for unit in sold] == [(order_id, OrderStatus.PAID)]
    await shopper.aclose()
