"""The live edge end to end: real WebSocket clients against a real LiveEdge, on each broker."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
from websockets.exceptions import ConnectionClosed

from tests.integration.live.conftest import WRITE_PATHS, Stage, Watch, publish_until_lagging
from tests.waiting import wait_until
from vitrine.live import EdgeSettings
from vitrine.live.events import Announcement, ProductPinned, StockChanged


def pin(product_id: str, at: int = 1_700_000_000_000) -> ProductPinned:
    return ProductPinned(
        product_id=product_id, title="Linen shirt", price_minor=4900, currency="EUR", at=at
    )


async def test_a_viewer_gets_a_snapshot_then_every_pin_in_order(stage: Stage, watch: Watch) -> None:
    a = await stage.instance()
    viewer = await watch(a.url("s1"))
    snapshot = await viewer.next_of("snapshot")
    assert snapshot["show"]["title"] == "Spring drop"

    first = await a.channel.publish("s1", pin("p1"))
    second = await a.channel.publish(
        "s1", StockChanged(product_id="p1", stock_left=3, sold_out=False)
    )

    pinned = await viewer.next_of("product_pinned")
    stock = await viewer.next_of("stock_changed")
    assert (pinned["seq"], pinned["product_id"], pinned["at"]) == (first, "p1", 1_700_000_000_000)
    assert (stock["seq"], stock["stock_left"]) == (second, 3)
    assert second == first + 1


async def test_every_viewer_receives_the_same_events(stage: Stage, watch: Watch) -> None:
    a = await stage.instance()
    viewers = [await watch(a.url("s1")) for _ in range(5)]

    seq = await a.channel.publish("s1", pin("p2"))

    for viewer in viewers:
        event = await viewer.next_of("product_pinned", skip=("snapshot",))
        assert (event["seq"], event["product_id"]) == (seq, "p2")


async def test_a_reconnecting_viewer_gets_what_it_missed_and_no_snapshot(
    stage: Stage, watch: Watch
) -> None:
    a = await stage.instance()
    viewer = await watch(a.url("s1"))
    await a.channel.publish("s1", pin("p1"))
    await viewer.next_of("product_pinned", skip=("snapshot",))
    last_seen = viewer.last_seq
    assert last_seen is not None
    await viewer.ws.close()

    await a.channel.publish("s1", pin("p2"))
    await a.channel.publish("s1", StockChanged(product_id="p2", stock_left=0, sold_out=True))
    back = await watch(a.url("s1"), hello=False)
    welcome = await back.hello(last_seq=last_seen)

    assert welcome["resumed"] is True
    missed = [await back.next_of("product_pinned", "stock_changed", "snapshot") for _ in range(2)]
    assert [event["type"] for event in missed] == ["product_pinned", "stock_changed"]
    assert [event["seq"] for event in missed] == [last_seen + 1, last_seen + 2]


async def test_a_viewer_too_far_behind_gets_a_fresh_snapshot(stage: Stage, watch: Watch) -> None:
    a = await stage.instance(EdgeSettings(tick_s=0.02, ring_size=4, resume_limit=4))
    viewer = await watch(a.url("s1"))
    await a.channel.publish("s1", pin("p1"))
    await viewer.next_of("product_pinned", skip=("snapshot",))
    last_seen = viewer.last_seq
    await viewer.ws.close()

    for number in range(10):
        await a.channel.publish(
            "s1", StockChanged(product_id="p1", stock_left=number, sold_out=False)
        )
    back = await watch(a.url("s1"), hello=False)
    welcome = await back.hello(last_seq=last_seen)

    assert welcome["resumed"] is False
    snapshot = await back.next_of("snapshot")
    assert snapshot["seq"] == welcome["latest_seq"]


async def test_a_viewer_resumes_on_another_instance_with_no_gap(stage: Stage, watch: Watch) -> None:
    a = await stage.instance()
    b = await stage.instance()
    viewer = await watch(a.url("s1"))
    await b.channel.publish("s1", pin("p1"))
    await viewer.next_of("product_pinned", skip=("snapshot",))
    last_seen = viewer.last_seq
    assert last_seen is not None
    await viewer.ws.close()

    await a.channel.publish("s1", pin("p2"))
    await b.channel.publish("s1", pin("p3"))
    moved = await watch(b.url("s1"), hello=False)
    welcome = await moved.hello(last_seq=last_seen)

    assert welcome["resumed"] is True
    first = await moved.next_of("product_pinned")
    second = await moved.next_of("product_pinned")
    assert [first["seq"], second["seq"]] == [last_seen + 1, last_seen + 2]
    assert [first["product_id"], second["product_id"]] == ["p2", "p3"]


async def test_two_instances_deliver_to_each_others_viewers(stage: Stage, watch: Watch) -> None:
    a = await stage.instance()
    b = await stage.instance()
    on_a = await watch(a.url("s1"))
    on_b = await watch(b.url("s1"))

    from_a = await a.channel.publish("s1", pin("p1"))
    from_b = await b.channel.publish("s1", pin("p2"))

    for viewer in (on_a, on_b):
        first = await viewer.next_of("product_pinned", skip=("snapshot",))
        second = await viewer.next_of("product_pinned")
        assert [first["seq"], second["seq"]] == [from_a, from_b]
    assert from_b == from_a + 1


async def test_viewer_counts_are_summed_across_instances(stage: Stage, watch: Watch) -> None:
    a = await stage.instance()
    b = await stage.instance()
    await watch(a.url("s1"))
    await watch(a.url("s1"))
    on_b = await watch(b.url("s1"))

    count = await on_b.until(lambda e: e["type"] == "viewer_count" and e["count"] == 3)

    assert count["count"] == 3


async def test_a_heartbeat_tells_the_latest_seq(stage: Stage, watch: Watch) -> None:
    a = await stage.instance()
    viewer = await watch(a.url("s1"))
    seq = await a.channel.publish("s1", pin("p1"))

    beat = await viewer.until(lambda e: e["type"] == "heartbeat")

    assert beat["latest_seq"] >= seq


async def test_reactions_are_tallied_not_sent_one_by_one(stage: Stage, watch: Watch) -> None:
    a = await stage.instance()
    b = await stage.instance()
    tappers = [await watch(a.url("s1")), await watch(b.url("s1"))]
    audience = await watch(a.url("s1"))

    for tapper in tappers:
        for _ in range(5):
            await tapper.send({"type": "react", "emoji": "🔥"})

    total = 0
    tallies = 0
    while total < 10:
        tally = await audience.until(lambda e: e["type"] == "reactions")
        total += tally["counts"]["🔥"]
        tallies += 1
    assert total == 10
    assert tallies < 10


async def test_a_signed_in_viewer_posts_and_everyone_sees_it(stage: Stage, watch: Watch) -> None:
    a = await stage.instance()
    token = stage.identify.sign_in("u1", "Ada")
    poster = await watch(a.url("s1", token))
    reader = await watch(a.url("s1"))

    await poster.send({"type": "chat_post", "text": "<b>Is it linen?</b>", "ref": "m1"})

    ack = await poster.until(lambda e: e["type"] == "ack")
    message = await reader.next_of("chat_message", skip=("snapshot",))
    assert ack["ref"] == "m1"
    assert (message["author_name"], message["text"]) == ("Ada", "<b>Is it linen?</b>")


async def test_a_guest_is_asked_to_sign_in_before_posting(stage: Stage, watch: Watch) -> None:
    a = await stage.instance()
    guest = await watch(a.url("s1"))

    await guest.send({"type": "chat_post", "text": "hi", "ref": "g1"})

    error = await guest.next_of("error", skip=("snapshot",))
    assert (error["code"], error["ref"]) == ("not_signed_in", "g1")


async def test_slow_mode_says_how_long_to_wait(stage: Stage, watch: Watch) -> None:
    a = await stage.instance()
    a.chat.slow_mode_s = 30
    poster = await watch(a.url("s1", stage.identify.sign_in("u1", "Ada")))

    await poster.send({"type": "chat_post", "text": "first", "ref": "1"})
    await poster.send({"type": "chat_post", "text": "second", "ref": "2"})

    error = await poster.until(lambda e: e["type"] == "error")
    assert (error["code"], error["ref"]) == ("slow_mode", "2")
    assert error["message"].startswith("Slow mode: you can post again in ")
    assert 0 < error["retry_after_s"] <= 30


async def test_a_banned_user_is_refused_and_told_why(stage: Stage, watch: Watch) -> None:
    a = await stage.instance()
    a.chat.banned.add("u9")
    poster = await watch(a.url("s1", stage.identify.sign_in("u9", "Troll")))

    await poster.send({"type": "chat_post", "text": "spam", "ref": "x"})

    error = await poster.until(lambda e: e["type"] == "error")
    assert error["code"] == "banned"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_frame"),
        ('{"type": "launch_missiles"}', "unknown_type"),
        ('{"type": "chat_post"}', "bad_frame"),
        ('{"type": "react", "emoji": "💩"}', "bad_frame"),
        (json.dumps({"type": "chat_post", "text": "x" * 5000}), "too_large"),
        (b"\x00\x01", "bad_frame"),
    ],
)
async def test_bad_input_is_refused_with_an_error_and_harms_no_one(
    stage: Stage, watch: Watch, frame: str | bytes, code: str
) -> None:
    a = await stage.instance()
    culprit = await watch(a.url("s1"))
    bystander = await watch(a.url("s1"))

    await culprit.ws.send(frame)
    error = await culprit.next_of("error", skip=("snapshot",))
    await culprit.send({"type": "ping", "ref": "still-here"})
    pong = await culprit.next_of("pong")
    seq = await a.channel.publish("s1", pin("p1"))

    assert error["code"] == code
    assert pong["ref"] == "still-here"
    assert (await bystander.next_of("product_pinned", skip=("snapshot",)))["seq"] == seq


async def test_a_flood_is_refused_then_disconnected_and_others_carry_on(
    stage: Stage, watch: Watch
) -> None:
    a = await stage.instance()
    flooder = await watch(a.url("s1"))
    bystander = await watch(a.url("s1"))

    with contextlib.suppress(ConnectionClosed):
        for number in range(300):
            await flooder.send({"type": "ping", "ref": str(number)})
    seq = await a.channel.publish("s1", pin("p1"))

    codes = set()
    with pytest.raises(ConnectionClosed):
        while True:
            codes.add((await flooder.next_event())["type"])
    assert "error" in codes
    assert flooder.ws.close_code == 4429
    assert (await bystander.next_of("product_pinned", skip=("snapshot",)))["seq"] == seq


async def test_an_oversized_frame_closes_only_that_connection(stage: Stage, watch: Watch) -> None:
    a = await stage.instance()
    culprit = await watch(a.url("s1"))
    bystander = await watch(a.url("s1"))

    await culprit.ws.send("x" * 100_000)
    with pytest.raises(ConnectionClosed):
        while True:
            await culprit.next_event()
    seq = await a.channel.publish("s1", pin("p1"))

    assert culprit.ws.close_code == 1009
    assert (await bystander.next_of("product_pinned", skip=("snapshot",)))["seq"] == seq


async def test_a_client_must_say_hello_first(stage: Stage, watch: Watch) -> None:
    a = await stage.instance()
    client = await watch(a.url("s1"), hello=False)

    await client.send({"type": "ping"})

    error = await client.next_of("error")
    assert error["code"] == "bad_frame"
    with pytest.raises(ConnectionClosed):
        await client.next_event()


async def test_an_unknown_show_is_refused(stage: Stage, watch: Watch) -> None:
    a = await stage.instance()
    client = await watch(a.url("nope"), hello=False)
    await client.send({"type": "hello"})

    error = await client.next_of("error")

    assert error["code"] == "not_found"
    with pytest.raises(ConnectionClosed):
        await client.next_event()
    assert client.ws.close_code == 4404


async def test_a_stale_token_is_refused(stage: Stage, watch: Watch) -> None:
    a = await stage.instance()
    client = await watch(a.url("s1", token="expired"), hello=False)

    error = await client.next_of("error")

    assert error["code"] == "not_signed_in"


async def test_a_crowd_arriving_at_once_costs_one_snapshot(stage: Stage, watch: Watch) -> None:
    a = await stage.instance()
    # a slow domain: the snapshot is still being built while the whole crowd arrives
    stage.snapshots.held = asyncio.Event()
    crowd = [asyncio.create_task(watch(a.url("s1"))) for _ in range(20)]
    await wait_until(lambda: "s1" in a.edge.rooms and a.edge.rooms["s1"].joining == 20)
    stage.snapshots.held.set()

    viewers = await asyncio.gather(*crowd)

    assert stage.snapshots.calls == 1
    for viewer in viewers:
        assert (await viewer.next_of("snapshot"))["show"]["title"] == "Spring drop"


@pytest.mark.parametrize("write_path", WRITE_PATHS)
async def test_a_slow_viewer_skips_superseded_stock_and_never_slows_the_others(
    stage: Stage, watch: Watch, write_path: dict[str, int]
) -> None:
    a = await stage.instance(
        EdgeSettings(tick_s=0.01, max_backlog=64, heartbeat_s=0.2, **write_path)
    )
    fast = await watch(a.url("s1"))
    # The slow phone: its client stops reading, so the edge's socket to it fills up.
    slow = await watch(a.url("s1"), max_queue=1)
    await fast.next_of("snapshot")
    await publish_until_lagging(a, "s1")

    for stock in range(100, -1, -1):
        await a.channel.publish(
            "s1", StockChanged(product_id="p1", stock_left=stock, sold_out=stock == 0)
        )
    last = await a.channel.publish("s1", pin("p9"))
    fast_seen = await fast.until(lambda e: e.get("seq") == last)

    stock_seen = []
    while True:
        event = await slow.next_event()
        if event["type"] == "stock_changed":
            stock_seen.append(event["stock_left"])
        if event.get("seq") == last:
            break
    assert fast_seen["product_id"] == "p9"
    assert stock_seen[-1] == 0
    assert len(stock_seen) < 101


@pytest.mark.parametrize("write_path", WRITE_PATHS)
async def test_a_viewer_too_far_behind_is_cut_and_the_others_carry_on(
    stage: Stage, watch: Watch, write_path: dict[str, int]
) -> None:
    a = await stage.instance(EdgeSettings(tick_s=0.01, max_backlog=16, heartbeat_s=5, **write_path))
    fast = await watch(a.url("s1"))
    slow = await watch(a.url("s1"), max_queue=1)
    await fast.next_of("snapshot")
    room = a.edge.rooms["s1"]
    await publish_until_lagging(a, "s1")

    # Announcements never supersede each other: the backlog overflows.
    for number in range(20):
        await a.channel.publish("s1", Announcement(announcement_id=f"n{number}", text="hi", at=1))
        await asyncio.sleep(0.02)
    last = await a.channel.publish("s1", pin("p9"))

    assert (await fast.until(lambda e: e.get("seq") == last))["product_id"] == "p9"
    assert not room.lagging
    assert room.size == 1
    with pytest.raises(ConnectionClosed):
        while True:
            await slow.next_event()


async def test_a_session_cookie_identifies_a_host(stage: Stage, watch: Watch) -> None:
    a = await stage.instance()
    session = stage.identify.sign_in("u5", "Hana", "host")

    host = await watch(
        a.url("s1"), hello=False, additional_headers={"Cookie": f"session={session}"}
    )
    welcome = await host.hello()

    assert welcome["viewer"] == {"user_id": "u5", "display_name": "Hana", "roles": ["host"]}


async def test_posting_to_a_show_that_is_not_live_is_refused(stage: Stage, watch: Watch) -> None:
    a = await stage.instance()
    a.chat.ended.add("s1")
    poster = await watch(a.url("s1", stage.identify.sign_in("u1", "Ada")))

    await poster.send({"type": "chat_post", "text": "anyone?", "ref": "late"})

    error = await poster.until(lambda e: e["type"] == "error")
    assert (error["code"], error["ref"]) == ("not_live", "late")
    assert error["message"] == "The show has ended; the chat is closed."
