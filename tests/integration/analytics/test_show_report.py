"""The report of a show whose every number is known: given a scripted show, the report says
exactly that, on SQLite and on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import update

from tests.integration.analytics.scripted import at, scripted_show
from vitrine.analytics.recorder import ViewRecorder
from vitrine.analytics.report import MinutePoint, ProductRow, compare_shows, show_report
from vitrine.commerce.models import Order, OrderStatus
from vitrine.core.db import Database


async def test_the_report_of_a_scripted_show_says_exactly_what_happened(db: Database) -> None:
    scripted = await scripted_show(db)

    report = await show_report(db, scripted.show_id)

    assert report.views == 3
    assert report.unique_viewers == 3
    assert report.peak_viewers == 3
    assert report.avg_watch_s == 600
    assert report.chat_messages == 2
    assert report.reactions == 5
    assert report.product_clicks == 2
    assert report.add_to_carts == 2  # the mug still in a cart, the scarf that became an order
    assert report.orders == 1
    assert report.gmv == 4_900
    assert report.currency == "EUR"
    assert report.followers_gained == 1
    assert [(s.label, s.count) for s in report.funnel] == [
        ("Viewed", 3),
        ("Clicked a product", 2),
        ("Added to cart", 2),
        ("Ordered", 1),
    ]
    assert report.products == [
        ProductRow(
            scripted.scarf_id, "Silk scarf", clicks=2, carts=1, orders=1, units=1, revenue=4_900
        ),
        ProductRow(scripted.mug_id, "Stoneware mug", carts=1),
        ProductRow(scripted.hat_id, "Straw hat"),
    ]


async def test_viewers_over_time_follow_the_joins_and_leaves_minute_by_minute(
    db: Database,
) -> None:
    scripted = await scripted_show(db)

    report = await show_report(db, scripted.show_id)

    start = int(at(0) // 60)
    by_minute = {p.minute - start: p.viewers for p in report.viewers_per_minute}
    assert by_minute[0] == 1
    assert by_minute[2] == 2
    assert by_minute[3] == 3
    assert by_minute[4] == 3  # a quiet minute carries the audience over
    assert by_minute[5] == 3  # Ben left during minute 5: 3 were there at its start
    assert by_minute[6] == 2
    assert by_minute[11] == 1
    assert by_minute[20] == 1
    assert max(by_minute) == 20
    assert report.viewers_per_minute[0] == MinutePoint(start, 1)


async def test_events_written_in_several_batches_add_up(db: Database) -> None:
    scripted = await scripted_show(db)
    views = ViewRecorder(db)
    sid = str(scripted.show_id)

    views.viewer_joined(sid, "u-late", at(25))
    await views.flush()
    views.viewer_left(sid, "u-late", at(27))
    views.viewer_joined(sid, "u-late", at(28))  # came back: a view, not a new viewer
    await views.flush()

    report = await show_report(db, scripted.show_id)
    assert report.views == 5
    assert report.unique_viewers == 4
    assert report.avg_watch_s == (600 * 3 + 120) // 4


async def test_a_leave_without_its_join_is_ignored(db: Database) -> None:
    scripted = await scripted_show(db)
    views = ViewRecorder(db)

    views.viewer_left(str(scripted.show_id), "u-unknown", at(1))
    views.viewer_joined("not-a-show", "u1", at(1))
    await views.flush()

    assert (await show_report(db, scripted.show_id)).views == 3


async def test_shows_compared_over_time_carry_views_orders_and_gmv(db: Database) -> None:
    scripted = await scripted_show(db)

    lines = await compare_shows(db, merchant_id=scripted.merchant.id)

    assert [(ln.show_id, ln.views, ln.unique_viewers, ln.orders, ln.gmv) for ln in lines] == [
        (scripted.show_id, 3, 3, 1, 4_900)
    ]
    assert await compare_shows(db, merchant_id=scripted.merchant.id + 1000) == []
    assert [ln.show_id for ln in await compare_shows(db)] == [scripted.show_id]


async def test_the_sales_table_is_computed_again_when_the_shows_orders_change(
    db: Database,
) -> None:
    scripted = await scripted_show(db)
    first = await show_report(db, scripted.show_id)
    kept = await show_report(db, scripted.show_id)  # read from the kept table this time

    async with db.write() as tx:
        await tx.session.execute(
            update(Order)
            .where(Order.show_id == scripted.show_id)
            .values(status=OrderStatus.REFUNDED)
        )
    refunded = await show_report(db, scripted.show_id)

    assert first == kept
    assert (refunded.orders, refunded.gmv) == (0, 0)
    scarf = next(p for p in refunded.products if p.product_id == scripted.scarf_id)
    assert (scarf.carts, scarf.orders, scarf.units, scarf.revenue) == (1, 0, 0, 0)
