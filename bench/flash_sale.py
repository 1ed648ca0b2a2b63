"""Flash sale: many buyers tap "buy" on a deal within one second.

Vitrine (the deal gate + batched writes, through the checkout service) runs against its peer,
what most shops do: one locked transaction per request (SELECT … FOR UPDATE on the stock
row, insert the order, update the stock; BEGIN IMMEDIATE on SQLite), in the same run, on
SQLite and on PostgreSQL (with VITRINE_TEST_POSTGRES_URL or --postgres URL).

Then the HTTP case (`flash_http.py`): one real web process (uvicorn running the Vitrine app)
and wrk tapping the deal's Buy as signed-in shoppers for 10 s, then the peer's route in the
same process.

Prints one JSON array, one object per database.

    .venv/bin/python bench/flash_sale.py                 # 1,000 units, 50,000 buyers + 1,000 retries
    .venv/bin/python bench/flash_sale.py --smoke         # a few seconds
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from flash_http import http_case
from scratch import scratch_postgres
from vitrine.accounts.actor import Actor
from vitrine.accounts.models import MemberRole, Merchant, MerchantStatus, User
from vitrine.catalog.models import Product, ProductStatus, Variant
from vitrine.commerce.announce import RecordingAnnouncer
from vitrine.commerce.deals import DealService
from vitrine.commerce.errors import SoldOut
from vitrine.commerce.gate import MemoryDealGate
from vitrine.commerce.models import DealHold, Order, table_of
from vitrine.commerce.win_checkout import order_for_hold
from vitrine.core.db import Database, async_url
from vitrine.core.errors import VitrineError
from vitrine.models import Base
from vitrine.shows.models import Show, ShowStatus

PRICE = 4_000
DEAL_PRICE = 2_500


@dataclass
class Seeded:
    owner: Actor
    show_id: int
    variant_id: int
    product_id: int
    merchant_id: int
    buyer_ids: list[int]


@dataclass
class Tally:
    won_ms: list[float] = field(default_factory=list)
    all_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    last_answer: float = 0.0


async def create_schema(url: str) -> None:
    engine = create_async_engine(async_url(url))
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    await engine.dispose()


async def seed(db: Database, *, buyers: int, stock: int) -> Seeded:
    users = table_of(User)
    async with db.write() as tx:
        owner = User(email="owner@bench.test", display_name="Owner", password_hash="x")
        tx.session.add(owner)
        await tx.session.flush()
        merchant = Merchant(
            handle="bench",
            brand_name="Bench",
            contact_email="b@bench.test",
            status=MerchantStatus.APPROVED,
            commission_bps=1_000,
            currency="EUR",
            shipping_flat=490,
            tax_bps=2_000,
            applied_by=owner.id,
        )
        tx.session.add(merchant)
        await tx.session.flush()
        product = Product(
            merchant_id=merchant.id,
            handle="bench-scarf",
            title="Bench scarf",
            status=ProductStatus.ACTIVE,
            currency="EUR",
        )
        tx.session.add(product)
        await tx.session.flush()
        variant = Variant(
            product_id=product.id, merchant_id=merchant.id, sku="SCARF", price=PRICE, stock=stock
        )
        show = Show(
            merchant_id=merchant.id,
            title="Bench show",
            scheduled_start=_now(),
            expected_minutes=60,
            status=ShowStatus.LIVE,
            public_name="bench",
            stream_key="k",
            created_by=owner.id,
        )
        tx.session.add_all([variant, show])
        await tx.session.flush()
        for start in range(0, buyers, 5_000):
            await tx.session.execute(
                users.insert(),
                [
                    {
                        "email": f"b{i}@bench.test",
                        "display_name": f"B{i}",
                        "password_hash": "x",
                        "is_operator": False,
                        "created_at": _now(),
                    }
                    for i in range(start, min(buyers, start + 5_000))
                ],
            )
        ids = (await tx.session.execute(select(User.id).where(User.id != owner.id))).scalars()
        buyer_ids = sorted(ids)
        return Seeded(
            Actor(owner.id, "Owner", memberships={merchant.id: MemberRole.OWNER}),
            show.id,
            variant.id,
            product.id,
            merchant.id,
            buyer_ids,
        )


def schedule(
    buyer_ids: list[int], *, retries: int, window_s: float, rng: random.Random
) -> list[tuple[float, int, str]]:
    """(arrival offset, buyer, key): everyone within the window, plus double taps."""
    taps = [(rng.uniform(0, window_s), buyer, secrets.token_hex(8)) for buyer in buyer_ids]
    for at, buyer, key in rng.sample(taps, min(retries, len(taps))):
        taps.append((at + rng.uniform(0.0, 0.2), buyer, key))
    taps.sort()
    return taps


async def drive(taps: list[tuple[float, int, str]], buy: Any) -> Tally:
    """Launch each tap at its arrival time; latency counts from the arrival, not the launch."""
    loop = asyncio.get_running_loop()
    tally = Tally()
    # As a long-running server does after start-up: move what exists (modules, metadata, the
    # seeded fixtures) out of the collector's way, so full collections stay short.
    gc.collect()
    gc.freeze()
    start = loop.time() + 0.05

    async def one(arrival: float, buyer: int, key: str) -> None:
        try:
            await buy(buyer, key)
            won = True
        except SoldOut:
            won = False
        except VitrineError as error:
            won = False
            tally.errors[type(error).__name__] = tally.errors.get(type(error).__name__, 0) + 1
        done = loop.time()
        elapsed = (done - arrival) * 1000
        tally.all_ms.append(elapsed)
        if won:
            tally.won_ms.append(elapsed)
        tally.last_answer = max(tally.last_answer, done - start)

    tasks = []
    for index, (offset, buyer, key) in enumerate(taps):
        arrival = start + offset
        ahead = arrival - loop.time()
        if ahead > 0.0005:
            await asyncio.sleep(ahead)
        elif index % 50 == 0:
            await asyncio.sleep(0)  # behind schedule: still let answered taps finish
        tasks.append(asyncio.create_task(one(arrival, buyer, key)))
    await asyncio.gather(*tasks)
    gc.unfreeze()
    return tally


async def run_vitrine(
    url: str,
    *,
    units: int,
    buyers: int,
    retries: int,
    window: float,
    rng: random.Random,
    batch_window_s: float,
    batch_max: int,
) -> dict[str, Any]:
    await create_schema(url)
    db = Database(url)
    seeded = await seed(db, buyers=buyers, stock=units)
    service = DealService(
        db,
        MemoryDealGate(),
        RecordingAnnouncer(),
        batch_window_s=batch_window_s,
        batch_max=batch_max,
    )
    deal = await service.start_deal(
        seeded.owner,
        seeded.show_id,
        variant_id=seeded.variant_id,
        deal_price=DEAL_PRICE,
        quantity=units,
        duration_s=600,
    )
    actors = {buyer: Actor(buyer, f"B{buyer}") for buyer in seeded.buyer_ids}

    async def buy(buyer: int, key: str) -> None:
        await service.buy(actors[buyer], deal.deal_id, idempotency_key=key, platform="ios")

    taps = schedule(seeded.buyer_ids, retries=retries, window_s=window, rng=rng)
    tally = await drive(taps, buy)
    await service.aclose()
    # After the rush, each winner goes on to pay: its order is created then (not timed).
    async with db.read() as session:
        holds = (await session.execute(select(DealHold.id, DealHold.buyer_id))).all()
    for hold_id, buyer in holds:
        await order_for_hold(db, actors[buyer], hold_id)
        await order_for_hold(db, actors[buyer], hold_id)  # a second visit: the same order
    async with db.read() as session:
        orders = await session.scalar(select(func.count()).select_from(Order)) or 0
        buyers_with_orders = (
            await session.scalar(select(func.count(func.distinct(Order.buyer_id)))) or 0
        )
        stock = await session.scalar(select(Variant.stock).where(Variant.id == seeded.variant_id))
    await db.dispose()
    return {
        "orders": orders,
        "holds": len(holds),
        "oversold": max(0, orders - units, len(holds) - units) + (1 if (stock or 0) < 0 else 0),
        "duplicate_orders": orders - buyers_with_orders,
        "winners": len(tally.won_ms),
        "winners_p99_ms": _p99(tally.won_ms),
        "all_p99_ms": _p99(tally.all_ms),
        "last_answer_s": round(tally.last_answer, 3),
        "errors": tally.errors,
    }


async def run_peer(
    url: str, *, units: int, buyers: int, retries: int, window: float, rng: random.Random
) -> dict[str, Any]:
    """One locked transaction per request, the way most shops sell the last units."""
    await create_schema(url)
    db = Database(url)
    seeded = await seed(db, buyers=buyers, stock=units)
    await db.dispose()
    sqlite = url.startswith("sqlite")
    engine: AsyncEngine = create_async_engine(
        async_url(url),
        **({} if sqlite else {"pool_size": 10, "max_overflow": 10, "pool_timeout": 600}),
    )
    lock = asyncio.Lock()
    begin = "BEGIN IMMEDIATE" if sqlite else "BEGIN"
    lock_row = (
        "SELECT stock FROM variants WHERE id = :v"
        if sqlite
        else "SELECT stock FROM variants WHERE id = :v FOR UPDATE"
    )

    if sqlite:
        from sqlalchemy import event

        @event.listens_for(engine.sync_engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    async def buy(buyer: int, key: str) -> None:
        async with lock if sqlite else _nolock(), engine.connect() as connection:
            await connection.exec_driver_sql(begin) if sqlite else await connection.begin()
            try:
                stock = (
                    await connection.execute(text(lock_row), {"v": seeded.variant_id})
                ).scalar_one()
                already = (
                    await connection.execute(
                        text("SELECT id FROM orders WHERE buyer_id = :b AND idempotency_key = :k"),
                        {"b": buyer, "k": key},
                    )
                ).first()
                if already is not None:
                    await _commit(connection, sqlite)
                    return
                if stock < 1:
                    await _commit(connection, sqlite)
                    raise SoldOut("Sold out")
                await connection.execute(
                    text(
                        "INSERT INTO orders (merchant_id, buyer_id, show_id, idempotency_key, status,"
                        " currency, subtotal, shipping, tax, total, ship_name, ship_line1, ship_line2,"
                        " ship_postal_code, ship_city, ship_country, tracking_number, created_at)"
                        " VALUES (:m, :b, :s, :k, 'pending_payment', 'EUR', :p, 490, 0, :t,"
                        " '', '', '', '', '', '', '', :now)"
                    ),
                    {
                        "m": seeded.merchant_id,
                        "b": buyer,
                        "s": seeded.show_id,
                        "k": key,
                        "p": DEAL_PRICE,
                        "t": DEAL_PRICE + 490,
                        "now": _now(),
                    },
                )
                await connection.execute(
                    text("UPDATE variants SET stock = stock - 1 WHERE id = :v"),
                    {"v": seeded.variant_id},
                )
                await _commit(connection, sqlite)
            except SoldOut:
                raise
            except BaseException:
                await _rollback(connection, sqlite)
                raise

    taps = schedule(seeded.buyer_ids, retries=retries, window_s=window, rng=rng)
    tally = await drive(taps, buy)
    async with engine.connect() as connection:
        orders = (await connection.execute(text("SELECT count(*) FROM orders"))).scalar_one()
        distinct = (
            await connection.execute(text("SELECT count(DISTINCT buyer_id) FROM orders"))
        ).scalar_one()
    await engine.dispose()
    return {
        "orders": orders,
        "oversold": max(0, orders - units),
        "duplicate_orders": orders - distinct,
        "last_answer_s": round(tally.last_answer, 3),
        "winners_p99_ms": _p99(tally.won_ms),
        "all_p99_ms": _p99(tally.all_ms),
    }


async def _commit(connection: Any, sqlite: bool) -> None:
    if sqlite:
        await connection.exec_driver_sql("COMMIT")
    else:
        await connection.commit()


async def _rollback(connection: Any, sqlite: bool) -> None:
    if sqlite:
        await connection.exec_driver_sql("ROLLBACK")
    else:
        await connection.rollback()


class _nolock:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *_: object) -> None:
        return None


async def bench_database(
    name: str, url: str, args: argparse.Namespace, fresh: Any
) -> dict[str, Any]:
    rng = random.Random(args.seed)
    vitrine = await run_vitrine(
        url,
        units=args.units,
        buyers=args.buyers,
        retries=args.retries,
        window=args.window,
        rng=rng,
        batch_window_s=args.batch_window_ms / 1000,
        batch_max=args.batch_max,
    )
    peer = (
        await run_peer(
            url,
            units=args.units,
            buyers=args.buyers,
            retries=args.retries,
            window=args.window,
            rng=random.Random(args.seed),
        )
        if not args.no_peer
        else None
    )
    result: dict[str, Any] = {
        "database": name,
        "case": "checkout service (no HTTP)",
        "units": args.units,
        "buyers": args.buyers,
        "retries": args.retries,
        "arrival_window_s": args.window,
        "batch_window_ms": args.batch_window_ms,
        "batch_max": args.batch_max,
        "oversold": vitrine["oversold"],
        "duplicate_orders": vitrine["duplicate_orders"],
        "orders": vitrine["orders"],
        "winners_p99_ms": vitrine["winners_p99_ms"],
        "all_p99_ms": vitrine["all_p99_ms"],
        "last_answer_s": vitrine["last_answer_s"],
        "errors": vitrine["errors"],
        "peer_last_answer_s": peer["last_answer_s"] if peer else None,
        "peer_all_p99_ms": peer["all_p99_ms"] if peer else None,
        "peer_oversold": peer["oversold"] if peer else None,
        "peer_duplicate_orders": peer["duplicate_orders"] if peer else None,
        "speedup_last_answer": (
            round(peer["last_answer_s"] / vitrine["last_answer_s"], 1)
            if peer and vitrine["last_answer_s"]
            else None
        ),
        "http_attempts_per_s": None,
        "http_p99_ms": None,
        "peer_http_attempts_per_s": None,
    }
    if not args.no_http:
        # A fresh database for the HTTP case, migrated as `vitrine serve` does.
        http_url, drop = await fresh(url)
        try:
            result |= await http_case(
                http_url,
                seed=seed,
                units=args.units,
                shoppers=args.http_shoppers,
                seconds=args.http_seconds,
                connections=args.http_connections,
                threads=args.http_threads,
                deal_price=DEAL_PRICE,
            )
        finally:
            await drop()
    return result


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1_000)
    parser.add_argument("--buyers", type=int, default=50_000)
    parser.add_argument("--retries", type=int, default=1_000)
    parser.add_argument("--postgres", default=os.environ.get("VITRINE_TEST_POSTGRES_URL", ""))
    parser.add_argument("--smoke", action="store_true", help="a tiny run for the test suite")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP case")
    parser.add_argument("--http-seconds", type=float, default=10.0)
    parser.add_argument("--http-connections", type=int, default=64)
    parser.add_argument("--http-threads", type=int, default=1)
    parser.add_argument("--http-shoppers", type=int, default=20_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch-window-ms", type=float, default=2.0)
    parser.add_argument("--batch-max", type=int, default=1_000)
    parser.add_argument(
        "--window", type=float, default=1.0, help="seconds over which buyers arrive"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.units, args.buyers, args.retries, args.window = 20, 400, 40, 0.2
        args.http_seconds, args.http_connections, args.http_shoppers = 1.0, 8, 200
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        if args.only in (None, "sqlite"):
            url = f"sqlite+aiosqlite:///{Path(scratch) / 'flash.db'}"

            async def fresh_sqlite(_: str) -> tuple[str, Any]:
                async def keep() -> None:
                    return None

                return f"sqlite+aiosqlite:///{Path(scratch) / 'flash_http.db'}", keep

            results.append(await bench_database("sqlite", url, args, fresh_sqlite))
    if args.postgres and args.only in (None, "postgresql"):
        url, drop = await scratch_postgres(args.postgres)

        async def fresh_postgres(_: str) -> tuple[str, Any]:
            return await scratch_postgres(args.postgres)

        try:
            results.append(await bench_database("postgresql", url, args, fresh_postgres))
        finally:
            await drop()
    print(json.dumps(results, indent=2))


def _p99(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1)


def _now() -> Any:
    from vitrine.core.clock import utc_now

    return utc_now()


if __name__ == "__main__":
    started = time.perf_counter()
    asyncio.run(main(sys.argv[1:]))
