"""Two Vitrine instances on one Redis: a host on one reaches viewers on the other, and the
viewer count adds up both."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import anyio
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect

from tests.backends import REDIS_URL
from tests.factories import actor_of, make_merchant, make_show, make_user
from vitrine.catalog.models import Product, ProductStatus, Variant
from vitrine.config import Settings
from vitrine.core.db import Database
from vitrine.web.services import Services
from vitrine.wiring import running

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(
        not REDIS_URL, reason="two instances need Redis: set VITRINE_TEST_REDIS_URL"
    ),
]


@pytest.fixture
async def instances(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Services, Services]]:
    prefix = f"vitrine-test-{secrets.token_hex(4)}:"
    async with AsyncExitStack() as stack:
        made = []
        for name in ("a", "b"):
            settings = Settings(
                data_dir=tmp_path / name,
                database_url=database_url,
                redis_url=REDIS_URL,
                redis_prefix=prefix,
                secret_key="x" * 40,
                live_port=0,
            )
            made.append(await stack.enter_async_context(running(settings, with_media=False)))
        yield made[0], made[1]
    client = aioredis.Redis.from_url(REDIS_URL)
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def _viewer(services: Services, show_id: int) -> ClientConnection:
    assert services.edge is not None
    ws = await connect(f"ws://127.0.0.1:{services.edge.port}/shows/{show_id}/live")
    await ws.send(json.dumps({"type": "hello", "v": 1}))
    return ws


_received: dict[ClientConnection, list[dict[str, object]]] = {}


async def _next(ws: ClientConnection, kind: str, **where: object) -> dict[str, object]:
    """The first event of `kind` (with `where`) this viewer was sent, waiting for it if need
    be: events arrive in no fixed order across instances (a count may come before a pin)."""
    received = _received.setdefault(ws, [])

    def found() -> dict[str, object] | None:
        for event in received:
            if event["type"] == kind and all(event.get(k) == v for k, v in where.items()):
                received.remove(event)
                return event
        return None

    with anyio.fail_after(10):
        while (event := found()) is None:
            received.extend(json.loads(await ws.recv()))
    return event


async def test_a_pin_on_one_instance_reaches_viewers_of_the_other(
    db: Database, instances: tuple[Services, Services]
) -> None:
    a, b = instances
    owner = await make_user(db, "owner@example.com")
    merchant = await make_merchant(db, owner, "acme")
    async with db.write() as tx:
        product = Product(
            merchant_id=merchant.id,
            handle="hat",
            title="Hat",
            status=ProductStatus.ACTIVE,
            currency="EUR",
        )
        tx.session.add(product)
        await tx.session.flush()
        tx.session.add(
            Variant(product_id=product.id, merchant_id=merchant.id, sku="HAT", price=1500, stock=4)
        )
    show = await make_show(db, owner, merchant, product_ids=(product.id,))
    await a.lifecycle.stream_arrived(show.id)

    on_b = await _viewer(b, show.id)
    on_a = await _viewer(a, show.id)
    snapshot = await _next(on_b, "snapshot")
    assert snapshot["show"]["state"] == "live"  # type: ignore[index]

    await a.on_air.pin(await actor_of(db, owner), show.id, product.id)
    pinned = await _next(on_b, "product_pinned")
    assert (pinned["product_id"], pinned["title"], pinned["price_minor"]) == (
        str(product.id),
        "Hat",
        1500,
    )

    await _next(on_b, "viewer_count", count=2)
    await _next(on_a, "viewer_count", count=2)
    await on_a.close()
    await on_b.close()
