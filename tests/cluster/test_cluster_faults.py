"""Redis and PostgreSQL restarted under a live show. Vitrine says it is degraded and why,
answers a clear 503 where it cannot serve, loses nothing that was committed, and heals itself
without being restarted."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import httpx

from tests.cluster.buying import PAYMENT, start_deal
from tests.cluster.conftest import Shop, metric
from tests.cluster.people import Viewer
from vitrine.deploy.local import Instance


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(600):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never {what}")


async def readiness(instance: Instance) -> tuple[int, dict[str, str]]:
    async with httpx.AsyncClient(base_url=instance.url, timeout=10) as client:
        answer = await client.get("/readyz")
    return answer.status_code, answer.json()


async def outbox(shop: Shop) -> float:
    return sum([await metric(i.url, "vitrine_live_outbox_events") for i in shop.cluster.web])


async def test_a_redis_restart_pauses_deals_holds_every_event_and_heals_by_itself(
    shop: Shop,
) -> None:
    cluster = shop.cluster
    assert cluster.redis is not None
    shopper = shop.person(shop.shoppers[0])
    await shopper.log_in()
    viewers = [await Viewer(shop.live_url()).start() for _ in range(4)]
    chatter = await Viewer(shop.live_url(), cookie=shopper.cookie_header).start()
    deal_id = await start_deal(shop.host, shop.show_id, shop.flask_id, quantity=5)
    for viewer in viewers:
        await viewer.wait_to_see("deal_started", deal_id=str(deal_id))

    # when Redis stops during the show
    cluster.redis.stop()

    # then every instance reports itself degraded, naming Redis
    for instance in cluster.web:
        assert await readiness(instance) == (
            503,
            {"database": "ok", "broker": "down: Redis is not answering", "media": "ok"},
        )
    # while pages and logging in still work
    assert (await shopper.client.get("/", headers={"accept": "text/html"})).status_code == 200
    latecomer = shop.person(shop.shoppers[1])
    await latecomer.log_in()
    await latecomer.aclose()
    # and a tap on Buy is paused with a clear answer: no sale, no 500
    tapped = await shopper.act(f"/deals/{deal_id}/buy", {"idempotency_key": "during"})
    assert tapped.status_code == 503
    assert tapped.json()["detail"] == "Deals are paused for a moment; try again"
    assert tapped.headers["retry-after"] == "2"
    # and the chat says to try again rather than dropping the message silently
    refused = await chatter.say("Hello?")
    assert (refused["type"], refused["code"]) == ("error", "unavailable")
    # while the host carries on: each action is committed and its event waits, in order
    for product_id in (shop.blanket_id, shop.flask_id):
        pinned = await shop.host.act(f"/studio/{shop.show_id}/pin", {"product_id": product_id})
        assert pinned.status_code == 200, pinned.text
    announced = await shop.host.act(f"/studio/{shop.show_id}/announce", {"text": "Back soon"})
    assert announced.status_code == 200, announced.text
    later_deal = await start_deal(shop.host, shop.show_id, shop.blanket_id, quantity=3)
    assert await outbox(shop) >= 3
    assert not viewers[0].seen("announcement")

    # when Redis is back, with its data
    cluster.redis.start()

    # then, with nothing restarted, both instances are ready again
    for instance in cluster.web:
        await eventually(lambda i=instance: _ready(i), f"{instance.name} ready again")
    # and every viewer receives what was committed meanwhile, nothing twice, no gap
    for viewer in viewers:
        await viewer.wait_to_see("announcement", text="Back soon")
        await viewer.wait_to_see("product_pinned", product_id=str(shop.blanket_id))
        await viewer.wait_to_see("product_pinned", product_id=str(shop.flask_id))
        assert viewer.missed_nothing(), (viewer.snapshots, viewer.seqs)
        # and then a fresh snapshot: the two instances delivered what they held in no known
        # order, so the screen ends on what the database says, the last pin
        await viewer.wait_for(lambda v=viewer: len(v.snapshots) > 1, "a fresh snapshot")
        await viewer.wait_for(
            lambda v=viewer: v.pinned() == str(shop.flask_id), "the flask pinned at last"
        )
        await viewer.wait_for(lambda v=viewer: v.audience() == 5, "the whole audience")
    assert await outbox(shop) == 0
    # and buying works again, in the deal started while Redis was away too
    bought = await shopper.act(f"/deals/{deal_id}/buy", {"idempotency_key": "after"})
    assert bought.status_code == 201, bought.text
    bought = await shopper.act(f"/deals/{later_deal}/buy", {"idempotency_key": "later"})
    assert bought.status_code == 201, bought.text
    await viewers[0].wait_to_see("deal_updated", deal_id=str(later_deal), stock_left=2)
    # and the instances said what happened in their (JSON) logs
    lines = [
        json.loads(raw)
        for instance in cluster.web
        for raw in instance.child.log.read_text().splitlines()
        if raw.startswith("{")  # the rest is the start-up banner
    ]
    said = [line["message"] for line in lines if line["logger"] == "vitrine.live.channel"]
    assert any(message.endswith("holding events in order until it is back") for message in said)
    assert any("the broker is back" in message for message in said)

    for viewer in (*viewers, chatter):
        await viewer.stop()
    await shopper.aclose()


async def _ready(instance: Instance) -> bool:
    return (await readiness(instance))[0] == 200


async def test_a_postgresql_restart_answers_503_meanwhile_and_recovers_without_a_restart(
    shop: Shop,
) -> None:
    cluster = shop.cluster
    assert cluster.postgres is not None
    shopper = shop.person(shop.shoppers[0])
    await shopper.log_in()
    deal_id = await start_deal(shop.host, shop.show_id, shop.flask_id, quantity=5)
    pids = [instance.child.pid for instance in cluster.web]

    # when PostgreSQL stops
    cluster.postgres.stop()

    # then a page is a friendly 503 with Retry-After, not a 500
    page = await shopper.client.get("/", headers={"accept": "text/html"})
    assert page.status_code == 503
    assert page.headers["retry-after"] == "5"
    assert page.headers["content-type"].startswith("text/html")
    assert "The database is not answering; please try again in a moment" in page.text
    # and the API a problem document saying the same
    api = await shopper.client.get(f"/api/v1/shows/{shop.show_id}")
    assert api.status_code == 503
    assert api.headers["content-type"] == "application/problem+json"
    assert api.headers["retry-after"] == "5"
    assert api.json()["title"] == "Temporarily unavailable"
    # and a tap on Buy is refused with a 503 too, selling nothing
    tapped = await shopper.act(f"/deals/{deal_id}/buy", {"idempotency_key": "tap"})
    assert tapped.status_code == 503, tapped.text
    # and every instance says the database is down
    for instance in cluster.web:
        assert await readiness(instance) == (
            503,
            {"database": "down: not answering", "broker": "ok", "media": "ok"},
        )

    # when PostgreSQL is back
    cluster.postgres.start()

    # then every instance serves again by itself (its pool drops the dead connections)
    for instance in cluster.web:
        await eventually(lambda i=instance: _ready(i), f"{instance.name} ready again")
        async with httpx.AsyncClient(base_url=instance.url) as client:
            assert (await client.get("/")).status_code == 200
    assert [instance.child.pid for instance in cluster.web] == pids
    assert all(instance.child.running() for instance in cluster.web)
    # and the same tap now buys, and paying works
    bought = await shopper.act(f"/deals/{deal_id}/buy", {"idempotency_key": "tap"})
    assert bought.status_code == 201, bought.text
    paid = await shopper.act(bought.json()["pay_url"], PAYMENT)
    assert (paid.status_code, paid.json()["order_status"]) == (200, "paid")
    await shopper.aclose()
