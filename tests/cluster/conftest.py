"""The production topology, started for each test by the script operators use
(`vitrine.deploy.local`, what `make cluster` runs): nginx with nginx-rtmp in front of two
Vitrine instances, and a Redis and a PostgreSQL of the test's own, so stopping them disturbs
nobody else. The show goes live the real way: a test pattern published to nginx-rtmp."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.cluster.people import Person
from vitrine.accounts.users import SignUp, ensure_user
from vitrine.commerce.models import Order, OrderLine, OrderStatus
from vitrine.config import Settings
from vitrine.core.db import Database
from vitrine.demo import MERCHANT, demo_show, seed_demo
from vitrine.deploy.local import NGINX, LocalCluster
from vitrine.deploy.nginx import RTMP_MODULE
from vitrine.deploy.processes import tail
from vitrine.deploy.stores import PrivateRedis, postgres_bin_dir
from vitrine.media.demo import ffmpeg_path
from vitrine.shows.models import ShowStatus

pytestmark = pytest.mark.cluster

PASSWORD = "a-long-password"


def missing_parts() -> str:
    """What this machine lacks to run the topology ("" when nothing)."""
    missing = [
        what
        for what, present in (
            ("nginx", Path(NGINX).exists()),
            ("libnginx-mod-rtmp", Path(RTMP_MODULE).exists()),
            ("redis-server", shutil.which("redis-server") is not None),
        )
        if not present
    ]
    try:
        postgres_bin_dir()
    except RuntimeError:
        missing.append("postgresql")
    return ", ".join(missing)


def require(missing: str) -> None:
    if missing:
        message = f"the cluster tests need {missing} (apt-get install them)"
        if os.environ.get("VITRINE_TEST_REQUIRE"):
            pytest.fail(message)  # CI: never skip silently
        pytest.skip(message)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of this test's own, to stop and start at will."""
    require("" if shutil.which("redis-server") else "redis-server")
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    """A topology of the test's own: it may kill instances and restart Redis or PostgreSQL."""
    yield from running_cluster(tmp_path / "cluster")


def running_cluster(directory: Path) -> Iterator[LocalCluster]:
    require(missing_parts())
    running = LocalCluster(directory)
    with running:
        yield running
    for log in sorted(running.directory.glob("*.log")):
        print(f"--- {log.name}\n{tail(log, 4000)}")


@dataclass
class Shop:
    """The demo brand live on the cluster: its host signed in, shoppers ready to sign in."""

    cluster: LocalCluster
    show_id: int
    flask_id: int  # one variant, 80 in stock, 24.00
    blanket_id: int  # one variant, 20 in stock, 89.00
    host: Person
    shoppers: list[str]

    def person(self, email: str, base_url: str | None = None) -> Person:
        return Person(base_url or self.cluster.url, email, PASSWORD)

    def live_url(self, base: str | None = None) -> str:
        return f"{base or self.cluster.live_url}/shows/{self.show_id}/live"


@pytest.fixture
async def shop(cluster: LocalCluster, request: pytest.FixtureRequest) -> AsyncIterator[Shop]:
    count = getattr(request, "param", 40)
    shoppers = [f"shopper{n}@example.com" for n in range(count)]
    db = Database(cluster.database_url)
    try:
        await seed_demo(db, Settings())  # what `vitrine demo` does, without starting a Python
        for email in shoppers:
            await ensure_user(db, SignUp(email, PASSWORD, email.split("@")[0]), operator=False)
        show = await demo_show(db)
    finally:
        await db.dispose()
    assert show is not None
    if show.status is not ShowStatus.LIVE:
        await go_live(cluster, f"{show.public_name}?key={show.stream_key}", show.id)
    host = Person(cluster.url, MERCHANT[1], MERCHANT[2])
    await host.log_in()
    products = (await host.client.get("/api/v1/merchants/northwind/products")).json()
    ids = {product["title"]: product["id"] for product in products}
    yield Shop(cluster, show.id, ids["Trail flask 500 ml"], ids["Wool blanket"], host, shoppers)
    await host.aclose()


async def go_live(cluster: LocalCluster, stream_key: str, show_id: int) -> None:
    """The host's encoder publishes a few seconds of test pattern to nginx-rtmp; Vitrine
    allows it (on_publish) and the show goes live."""
    publisher = await asyncio.create_subprocess_exec(
        ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-nostdin",
        "-re", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=15",
        "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
        "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
        "-g", "15", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
        "-f", "flv", f"{cluster.rtmp_url}/{stream_key}",
        stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert await publisher.wait() == 0
    async with httpx.AsyncClient(base_url=cluster.url) as client:
        show = (await client.get(f"/api/v1/shows/{show_id}")).json()
    assert show["status"] == "live"


SOLD = (OrderStatus.PENDING_PAYMENT, OrderStatus.PAID)  # units a deal has given away


@dataclass(frozen=True)
class SoldUnit:
    order_id: int
    status: OrderStatus
    quantity: int


async def orders_of_deal(cluster: LocalCluster, deal_id: int) -> list[SoldUnit]:
    """What the database says was sold in a deal: each order with its status and units."""
    db = Database(cluster.database_url)
    try:
        async with db.read() as session:
            rows = await session.execute(
                select(Order.id, Order.status, OrderLine.quantity)
                .join(OrderLine, OrderLine.order_id == Order.id)
                .where(Order.deal_id == deal_id)
            )
            return [SoldUnit(order_id, status, quantity) for order_id, status, quantity in rows]
    finally:
        await db.dispose()


async def metric(base_url: str, name: str) -> float:
    """One sample of an instance's /metrics (instances are scraped directly, not via nginx)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        text = (await client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics of {base_url}")
