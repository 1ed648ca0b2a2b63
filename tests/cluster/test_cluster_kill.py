"""An instance killed (`kill -9`) in the middle of a flash deal: never a unit more than the
deal holds, never a paid order lost, and viewers who were on the dead instance carry on from
where they were on the other one."""

from __future__ import annotations

import asyncio

from tests.cluster.buying import buy_and_pay, start_deal
from tests.cluster.conftest import SOLD, Shop, metric, orders_of_deal
from tests.cluster.people import Viewer
from vitrine.commerce.models import OrderStatus


async def test_killing_an_instance_mid_deal_oversells_nothing_and_viewers_resume_elsewhere(
    shop: Shop,
) -> None:
    a, b = shop.cluster.web
    # given six viewers through nginx, spread over both instances' edges
    viewers = [await Viewer(shop.live_url()).start() for _ in range(6)]
    on_a = await metric(a.url, "vitrine_live_connections")
    assert on_a >= 1
    assert await metric(b.url, "vitrine_live_connections") == 6 - on_a
    deal_id = await start_deal(shop.host, shop.show_id, shop.flask_id, quantity=15)

    # when 40 shoppers tap Buy through nginx and instance A is killed after 8 answers
    answers = 0
    kill_now = asyncio.Event()

    def answered() -> None:
        nonlocal answers
        answers += 1
        if answers == 8:
            kill_now.set()

    async def kill_a() -> None:
        await kill_now.wait()
        a.kill()

    shoppers = [shop.person(email) for email in shop.shoppers]
    # (signed in first: the kill comes after 8 answers, which can be before the last log-in)
    await asyncio.gather(*(shopper.log_in() for shopper in shoppers))
    taps, _ = await asyncio.gather(
        asyncio.gather(
            *(buy_and_pay(s, deal_id, answered=answered, log_in=False) for s in shoppers)
        ),
        kill_a(),
    )
    assert not a.child.running()

    # then no unit was sold twice over, and every order a shopper was told is paid, is paid
    sold = await orders_of_deal(shop.cluster, deal_id)
    assert sum(unit.quantity for unit in sold if unit.status in SOLD) <= 15
    paid_in_database = {unit.order_id for unit in sold if unit.status is OrderStatus.PAID}
    told_paid = {tap.paid["order_id"] for tap in taps if tap.paid}
    assert told_paid
    assert told_paid <= paid_in_database
    assert all(500 not in tap.answers for tap in taps)

    # and the viewers that were on A reconnected through nginx to B and missed nothing
    pinned = await shop.host.act(f"/studio/{shop.show_id}/pin", {"product_id": shop.blanket_id})
    assert pinned.status_code == 200, pinned.text
    for viewer in viewers:
        await viewer.wait_to_see("product_pinned", product_id=str(shop.blanket_id))
        assert viewer.missed_nothing(), (viewer.snapshots, viewer.seqs)
        assert len(viewer.snapshots) == 1  # resumed where it was, no fresh start
        assert all(welcome["resumed"] for welcome in viewer.welcomes[1:])
    assert sum(viewer.connections > 1 for viewer in viewers) == on_a
    assert await metric(b.url, "vitrine_live_connections") == 6

    # and A, started again, serves once more
    a.start()
    a.wait_ready()
    async with shop.person(shop.shoppers[0], a.url).client as client:
        assert (await client.get("/readyz")).status_code == 200
    for viewer in viewers:
        await viewer.stop()
    for shopper in shoppers:
        await shopper.aclose()
