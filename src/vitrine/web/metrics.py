"""What operators watch: /healthz (the process answers), /readyz (database, broker and media
are usable) and Prometheus /metrics. One registry per app: no global state."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from litestar import Request, Response, get
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import text

from vitrine.core.errors import Unavailable
from vitrine.web.services import Services, services_of


class ServiceCollector:
    """Figures read from the running services at scrape time. Totals are counters (Prometheus
    takes their rate: events per second, decisions per second); levels are gauges."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        services = self.services
        edge = services.edge
        rooms = edge.rooms if edge is not None else {}
        yield _gauge(
            "vitrine_live_connections",
            "Viewers connected to this instance's live edge",
            sum(edge.viewers_here(show) for show in rooms) if edge else 0,
        )
        yield _gauge("vitrine_live_shows", "Shows with viewers on this instance", len(rooms))
        channel = services.channel
        yield _counter(
            "vitrine_live_events_published",
            "Events this instance handed to the broker for viewers",
            channel.published,
        )
        yield _counter(
            "vitrine_live_events_delivered",
            "Events this instance's edge wrote to viewers (one per event and viewer)",
            edge.delivered if edge else 0,
        )
        yield _gauge(
            "vitrine_live_outbox_events",
            "Committed events waiting for the broker to come back (in order)",
            channel.held_events,
        )
        yield _counter(
            "vitrine_live_outbox_dropped",
            "Events dropped because the outbox was full (their viewers got a fresh snapshot)",
            channel.dropped,
        )
        decisions = CounterMetricFamily(
            "vitrine_deal_gate_decisions",
            "Taps on a deal's Buy answered by this instance's gate, by outcome",
            labels=["outcome"],
        )
        tally = services.deal_gate.tally.decisions
        for outcome in GATE_OUTCOMES:
            decisions.add_metric([outcome], tally.get(outcome, 0))
        yield decisions
        media = services.streams.media
        opened = services.streams.opened
        yield _gauge("vitrine_media_open_shows", "Shows whose ingest is open", len(opened))
        yield _gauge(
            "vitrine_media_publishing",
            "Shows whose host's stream is arriving (media processes)",
            sum(1 for show in opened if media and media.is_publishing(show)),
        )


GATE_OUTCOMES = ("won", "sold_out", "limit", "duplicate", "unknown")


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "vitrine_http_requests", "HTTP requests answered", ["method", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.seconds = Histogram(
            "vitrine_http_request_seconds", "Time to answer HTTP requests", registry=self.registry
        )
        # The process's resident memory, open fds and CPU: a leak shows as a rising RSS at a
        # steady audience (bench/soak.py measures the same from /proc).
        ProcessCollector(registry=self.registry)
        self._collector: ServiceCollector | None = None

    def watch(self, services: Services) -> None:
        if self._collector is None:
            self._collector = ServiceCollector(services)
            self.registry.register(self._collector)

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = 500

            async def send_and_note(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, send_and_note)
            finally:
                self.requests.labels(scope["method"], str(status)).inc()
                self.seconds.observe(time.perf_counter() - started)

        return counted


@get("/metrics", include_in_schema=False)
async def metrics_page(request: Request[Any, Any, Any]) -> Response[bytes]:
    metrics: Metrics = request.app.state.metrics
    metrics.watch(services_of(request))
    return Response(
        generate_latest(metrics.registry), media_type="text/plain; version=0.0.4; charset=utf-8"
    )


@get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@get("/readyz", include_in_schema=False)
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    """200 when this instance can serve shoppers; 503 naming what is down."""
    services = services_of(request)
    checks: dict[str, str] = {}
    try:
        async with services.db.read() as session:
            await session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Unavailable:
        checks["database"] = "down: not answering"
    except Exception as error:  # any failure means not ready; say which
        checks["database"] = f"down: {type(error).__name__}"
    if await services.broker.healthy():
        checks["broker"] = "ok"
    elif services.settings.redis_url:
        # Viewers stay connected and committed events wait in the outbox; deals are paused.
        checks["broker"] = "down: Redis is not answering"
    else:
        checks["broker"] = "down"
    checks["media"] = "ok" if services.streams.media is not None else "off"
    ready = all(value in ("ok", "off") for value in checks.values())
    return Response(checks, status_code=200 if ready else 503)


routes = [healthz, readyz, metrics_page]
