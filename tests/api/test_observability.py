"""Operators' endpoints: liveness, readiness naming what is down, Prometheus metrics."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.shop_helpers import live_shop, start_deal
from tests.api.test_shop_pages import post_json
from tests.web import Browser
from vitrine.core.db import Database


async def test_health_readiness_and_metrics(client: AsyncTestClient[Litestar]) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"database": "ok", "broker": "ok", "media": "ok"}

    await client.get("/")
    await client.get("/shows/999")
    metrics = (await client.get("/metrics")).text
    assert 'vitrine_http_requests_total{method="GET",status="200"}' in metrics
    assert 'vitrine_http_requests_total{method="GET",status="404"} 1.0' in metrics
    assert "vitrine_live_connections 0.0" in metrics
    assert "vitrine_live_events_delivered_total 0.0" in metrics
    assert "vitrine_live_outbox_events 0.0" in metrics
    assert "vitrine_live_outbox_dropped_total 0.0" in metrics
    assert "vitrine_media_open_shows 0.0" in metrics
    resident = re.search(r"^process_resident_memory_bytes (\S+)$", metrics, re.MULTILINE)
    assert resident is not None and float(resident.group(1)) > 0
    assert re.search(r"^process_open_fds \S+$", metrics, re.MULTILINE)


async def test_each_tap_on_a_deal_is_counted_by_the_gate_s_decision(
    db: Database, client: AsyncTestClient[Litestar], browser: Browser, other_browser: Browser
) -> None:
    shop = await live_shop(db)
    deal_id = await start_deal(db, shop, quantity=1)
    await browser.sign_up("ana@example.com", "Ana")
    await other_browser.sign_up("bo@example.com", "Bo")
    before = _published((await client.get("/metrics")).text)

    await post_json(browser, f"/deals/{deal_id}/buy", {"idempotency_key": "tap-1"})  # won
    await post_json(browser, f"/deals/{deal_id}/buy", {"idempotency_key": "tap-1"})  # again
    await post_json(browser, f"/deals/{deal_id}/buy", {"idempotency_key": "tap-2"})  # limit
    await post_json(other_browser, f"/deals/{deal_id}/buy", {"idempotency_key": "tap-9"})

    metrics = (await client.get("/metrics")).text
    decisions = dict(
        re.findall(r'vitrine_deal_gate_decisions_total\{outcome="(\w+)"\} (\S+)', metrics)
    )
    assert decisions == {
        "won": "1.0",
        "sold_out": "1.0",
        "limit": "1.0",
        "duplicate": "1.0",
        "unknown": "0.0",
    }
    # the win's units left and stock were announced to viewers: events per second rise
    assert _published(metrics) > before


def _published(metrics: str) -> float:
    found = re.search(r"^vitrine_live_events_published_total (\S+)$", metrics, re.MULTILINE)
    assert found is not None
    return float(found.group(1))
