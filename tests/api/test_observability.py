"""Operators' endpoints: liveness, readiness naming what is down, Prometheus metrics."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient


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
    assert "vitrine_media_open_shows 0.0" in metrics
