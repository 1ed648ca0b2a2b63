"""Analytics benchmark: the full report of one show built from 1,000,000 view events and
100,000 orders, on SQLite and on PostgreSQL, and its peer (the same report computed by
scanning the raw view log) in the same run. Prints one JSON object.

    .venv/bin/python bench/analytics.py            # 1,000,000 view events, 100,000 orders
    .venv/bin/python bench/analytics.py --smoke    # 20,000 events, 2,000 orders, seconds

The view events go through the real ViewRecorder (the edge's hook) and are written in
batches as in production, so `record_us_per_event` is the hot-path cost per join or leave
and `write_ms_per_10k_events` the cost of one batch's transaction. show_report_ms_* is the
median of 5 runs of `show_report` after one warm-up; peer_show_report_ms_* likewise for the
raw-scan design. PostgreSQL runs in a scratch database created and dropped here, from
VITRINE_TEST_POSTGRES_URL (skipped when unset).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from scratch import scratch_postgres
from vitrine.accounts.models import Follow, Merchant, MerchantStatus, User
from vitrine.analytics.models import JOIN, LEAVE, ViewEvent, table_of
from vitrine.analytics.recorder import ViewRecorder
from vitrine.analytics.report import _followers_gained, _product_rows, show_report
from vitrine.analytics.sales import SOLD, _from_order_lines
from vitrine.catalog.models import Product, ProductStatus, Variant
from vitrine.chat.models import ChatMessage
from vitrine.commerce.models import Cart, CartLine, Order, OrderLine, OrderStatus
from vitrine.core.db import Database, async_url
from vitrine.models import Base
from vitrine.shows.models import LineupItem, Show, ShowStatus

STARTED = datetime(2026, 3, 14, 18, 0, tzinfo=UTC)
MINUTES = 120
PRODUCTS = 20


async def create_schema(url: str) -> None:
    engine = create_async_engine(async_url(url))
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    await engine.dispose()


async def seed_shop(db: Database, buyers: int) -> tuple[int, list[int], list[int], list[int]]:
    """A merchant, its show (ended), 20 products in the lineup, `buyers` users."""
    async with db.write() as tx:
        s = tx.session
        owner = User(email="owner@bench.test", display_name="Owner", password_hash="x")
        s.add(owner)
        await s.flush()
        merchant = Merchant(
            handle="bench",
            brand_name="Bench",
            contact_email="b@bench.test",
            status=MerchantStatus.APPROVED,
            commission_bps=1_000,
            currency="EUR",
            applied_by=owner.id,
        )
        s.add(merchant)
        await s.flush()
        show = Show(
            merchant_id=merchant.id,
            title="Bench show",
            scheduled_start=STARTED,
            expected_minutes=MINUTES,
            status=ShowStatus.ENDED,
            started_at=STARTED,
            ended_at=STARTED + timedelta(minutes=MINUTES),
            public_name="bench",
            stream_key="k",
            created_by=owner.id,
        )
        s.add(show)
        products, variants = [], []
        for i in range(PRODUCTS):
            product = Product(
                merchant_id=merchant.id,
                handle=f"p{i}",
                title=f"Product {i}",
                status=ProductStatus.ACTIVE,
                currency="EUR",
            )
            s.add(product)
            await s.flush()
            variant = Variant(
                product_id=product.id, merchant_id=merchant.id, sku=f"S{i}", price=1_000 + i
            )
            s.add(variant)
            await s.flush()
            products.append(product.id)
            variants.append(variant.id)
        await s.flush()
        for position, product_id in enumerate(products):
            s.add(LineupItem(show_id=show.id, product_id=product_id, position=position))
        users = table_of(User)
        for start in range(0, buyers, 5_000):
            await s.execute(
                users.insert(),
                [
                    {
                        "email": f"b{i}@bench.test",
                        "display_name": f"B{i}",
                        "password_hash": "x",
                        "is_operator": False,
                        "created_at": STARTED,
                    }
                    for i in range(start, min(buyers, start + 5_000))
                ],
            )
        buyer_ids = list((await s.execute(select(User.id).where(User.id != owner.id))).scalars())
        return show.id, products, variants, buyer_ids


async def record_views(db: Database, show_id: int, events: int) -> dict[str, float]:
    """Half as many sessions as events, spread over the show, through the real recorder."""
    rng = random.Random(7)
    viewers = max(10, events // 5)
    script: list[tuple[float, int, str]] = []
    for _ in range(events // 2):
        start = STARTED.timestamp() + rng.uniform(0, MINUTES * 60)
        length = rng.expovariate(1 / 300)
        key = f"a{rng.randrange(viewers):x}"
        script.append((start, JOIN, key))
        script.append((start + length, LEAVE, key))
    script.sort()
    recorder = ViewRecorder(db)
    sid = str(show_id)
    batch = 10_000
    hot = 0.0
    write = 0.0
    for start in range(0, len(script), batch):
        t0 = time.perf_counter()
        for at, kind, key in script[start : start + batch]:
            if kind == JOIN:
                recorder.viewer_joined(sid, key, at)
            else:
                recorder.viewer_left(sid, key, at)
        t1 = time.perf_counter()
        await recorder.flush()
        hot += t1 - t0
        write += time.perf_counter() - t1
    for product in range(PRODUCTS):
        for _ in range(events // 20 // PRODUCTS):
            recorder.product_clicked(show_id, product + 1)
    recorder.reactions(sid, {"❤️": events // 10}, at=STARTED.timestamp() + 60)
    await recorder.flush()
    return {
        "record_us_per_event": round(hot / len(script) * 1e6, 2),
        "write_ms_per_10k_events": round(write / max(1, len(script) / batch) * 1000, 1),
    }


async def seed_commerce(
    db: Database,
    show_id: int,
    merchant_id: int,
    variants: list[int],
    buyers: list[int],
    orders: int,
) -> None:
    """`orders` orders of the show (90 % paid), one or two lines each; carts, chat, follows."""
    rng = random.Random(11)
    order_rows: list[dict[str, Any]] = []
    line_rows: list[dict[str, Any]] = []
    for i in range(1, orders + 1):
        status = OrderStatus.PAID if rng.random() < 0.9 else OrderStatus.PENDING_PAYMENT
        lines = [(rng.choice(variants), rng.randint(1, 3)) for _ in range(rng.choice((1, 1, 2)))]
        subtotal = sum(1_000 * q for _, q in lines)
        order_rows.append(
            {
                "id": i,
                "merchant_id": merchant_id,
                "buyer_id": buyers[i % len(buyers)],
                "show_id": show_id,
                "idempotency_key": f"k{i}",
                "status": status,
                "currency": "EUR",
                "subtotal": subtotal,
                "shipping": 0,
                "tax": 0,
                "total": subtotal,
                "created_at": STARTED,
            }
        )
        line_rows.extend(
            {
                "order_id": i,
                "variant_id": v,
                "product_title": "x",
                "sku": "x",
                "unit_price": 1_000,
                "quantity": q,
            }
            for v, q in lines
        )
    chunk = 20_000
    async with db.write() as tx:
        for start in range(0, len(order_rows), chunk):
            await tx.session.execute(table_of(Order).insert(), order_rows[start : start + chunk])
        for start in range(0, len(line_rows), chunk):
            await tx.session.execute(table_of(OrderLine).insert(), line_rows[start : start + chunk])
        carts = buyers[: min(len(buyers), 2_000)]
        await tx.session.execute(
            table_of(Cart).insert(),
            [
                {"id": n + 1, "user_id": u, "created_at": STARTED, "updated_at": STARTED}
                for n, u in enumerate(carts)
            ],
        )
        await tx.session.execute(
            table_of(CartLine).insert(),
            [
                {
                    "cart_id": n + 1,
                    "variant_id": rng.choice(variants),
                    "quantity": 1,
                    "show_id": show_id,
                    "added_at": STARTED,
                }
                for n in range(len(carts))
            ],
        )
        await tx.session.execute(
            table_of(ChatMessage).insert(),
            [
                {
                    "show_id": show_id,
                    "user_id": buyers[n % len(buyers)],
                    "author_name": "B",
                    "text": "hello",
                    "is_question": False,
                    "sent_at": STARTED,
                }
                for n in range(max(100, orders // 10))
            ],
        )
        await tx.session.execute(
            table_of(Follow).insert(),
            [
                {
                    "user_id": u,
                    "merchant_id": merchant_id,
                    "created_at": STARTED + timedelta(minutes=n % 300),
                }
                for n, u in enumerate(buyers)
            ],
        )


async def peer_report(db: Database, show_id: int) -> dict[str, Any]:
    """The naive design: no rollups, every figure computed from the raw view log."""
    async with db.read() as session:
        show = await session.get(Show, show_id)
        assert show is not None
        v = ViewEvent
        views, uniques, watch, leaves = (
            await session.execute(
                select(
                    func.count().filter(v.kind == JOIN),
                    func.count(func.distinct(v.viewer_key)),
                    func.coalesce(func.sum(v.watch_s), 0),
                    func.count().filter(v.kind == LEAVE),
                ).where(v.show_id == show_id)
            )
        ).one()
        # Peak and the per-minute curve: walk the log in time order.
        audience, peak = 0, 0
        per_minute: dict[int, int] = {}
        rows = await session.stream(
            select(v.at, v.kind).where(v.show_id == show_id).order_by(v.at, v.id)
        )
        async for at, kind in rows:
            audience += 1 if kind == JOIN else -1
            peak = max(peak, audience)
            minute = int(at.timestamp() // 60)
            per_minute[minute] = max(per_minute.get(minute, 0), audience)
        chat = (
            await session.execute(select(func.count()).where(ChatMessage.show_id == show_id))
        ).scalar_one()
        sold = (
            await session.execute(
                select(func.count(), func.sum(Order.total)).where(
                    Order.show_id == show_id, Order.status.in_(SOLD)
                )
            )
        ).one()
        products = await _product_rows(session, show, await _from_order_lines(session, show_id))
        followers = await _followers_gained(session, show, STARTED)
    return {
        "views": views,
        "unique_viewers": uniques,
        "peak": peak,
        "avg_watch_s": round(watch / leaves) if leaves else 0,
        "chat": chat,
        "orders": sold[0],
        "gmv": sold[1],
        "products": len(products),
        "followers": followers,
        "minutes": len(per_minute),
    }


async def timed(work: Callable[[], Awaitable[Any]], runs: int = 5) -> tuple[float, Any]:
    result = await work()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = await work()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 1), result


async def bench_database(name: str, url: str, events: int, orders: int) -> dict[str, Any]:
    await create_schema(url)
    db = Database(url)
    try:
        show_id, _products, variants, buyers = await seed_shop(db, max(100, orders // 20))
        async with db.read() as session:
            merchant_id = (
                await session.execute(select(Show.merchant_id).where(Show.id == show_id))
            ).scalar_one()
        ingest = await record_views(db, show_id, events)
        await seed_commerce(db, show_id, merchant_id, variants, buyers, orders)
        if not db.sqlite:
            async with db.engine.connect() as connection:
                await connection.execute(text("ANALYZE"))
        t0 = time.perf_counter()
        await show_report(db, show_id)  # the first report after the orders changed
        cold_ms = round((time.perf_counter() - t0) * 1000, 1)
        report_ms, report = await timed(lambda: show_report(db, show_id))
        peer_ms, peer = await timed(lambda: peer_report(db, show_id), runs=3)
        async with db.read() as session:
            logged = (
                await session.execute(select(func.count()).select_from(ViewEvent))
            ).scalar_one()
        assert logged == events, (logged, events)
        assert report.views == peer["views"] and report.unique_viewers == peer["unique_viewers"]
        assert report.peak_viewers == peer["peak"], (report.peak_viewers, peer["peak"])
        assert report.orders == peer["orders"] and report.gmv == peer["gmv"]
        return {
            f"show_report_ms_{name}": report_ms,
            f"peer_show_report_ms_{name}": peer_ms,
            f"show_report_first_after_new_orders_ms_{name}": cold_ms,
            f"record_us_per_event_{name}": ingest["record_us_per_event"],
            f"write_ms_per_10k_events_{name}": ingest["write_ms_per_10k_events"],
            f"report_{name}": {
                "views": report.views,
                "unique_viewers": report.unique_viewers,
                "peak_viewers": report.peak_viewers,
                "avg_watch_s": report.avg_watch_s,
                "orders": report.orders,
                "gmv": report.gmv,
                "products": len(report.products),
                "minutes": len(report.viewers_per_minute),
            },
        }
    finally:
        await db.dispose()


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny size, a few seconds")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--orders", type=int, default=None)
    parser.add_argument("--only", choices=("sqlite", "postgres"), default=None)
    args = parser.parse_args(argv)
    events = args.events or (20_000 if args.smoke else 1_000_000)
    orders = args.orders or (2_000 if args.smoke else 100_000)
    result: dict[str, Any] = {"view_events": events, "orders": orders}
    if args.only != "postgres":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            result.update(await bench_database("sqlite", url, events, orders))
    else:
        result["show_report_ms_sqlite"] = None
    admin = os.environ.get("VITRINE_TEST_POSTGRES_URL")
    if admin and args.only != "sqlite":
        url, drop = await scratch_postgres(admin)
        try:
            result.update(await bench_database("postgres", url, events, orders))
        finally:
            await drop()
    else:
        result["show_report_ms_postgres"] = None
        result["peer_show_report_ms_postgres"] = None
    result["target_ms"] = 200
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
