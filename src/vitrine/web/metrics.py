"""What operators watch: /healthz (the process answers), /readyz (database, broker and media
are usable) and Prometheus /metrics. One registry per app: no global state."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from litestar import Request, Response, get
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import text

from vitrine.web.services import Services, services_of


class ServiceCollector:
    """Figures read from the running services at scrape time."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        edge = self.services.edge
        rooms = edge.rooms if edge is not None else {}
        connections = GaugeMetricFamily(
            "vitrine_live_connections", "Viewers connected to this instance's live edge"
        )
        connections.add_metric([], sum(edge.viewers_here(show) for show in rooms) if edge else 0)
        yield connections
        shows = GaugeMetricFamily("vitrine_live_shows", "Shows with viewers on this instance")
        shows.add_metric([], len(rooms))
        yield shows
        events = GaugeMetricFamily(
            "vitrine_live_events_published", "Events this instance published to viewers (total)"
        )
        events.add_metric([], self.services.channel.published)
        yield events
        media = self.services.streams.media
        opened = GaugeMetricFamily("vitrine_media_open_shows", "Shows whose ingest is open")
        opened.add_metric([], len(self.services.streams.opened))
        yield opened
        publishing = GaugeMetricFamily(
            "vitrine_media_publishing", "Shows whose host's stream is arriving (media processes)"
        )
        publishing.add_metric(
            [],
            sum(1 for show in self.services.streams.opened if media and media.is_publishing(show)),
        )
        yield publishing


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
    except Exception as error:  # any failure means not ready; say which
        checks["database"] = f"down: {type(error).__name__}"
    checks["broker"] = "ok" if await services.broker.healthy() else "down"
    checks["media"] = "ok" if services.streams.media is not None else "off"
    ready = all(value in ("ok", "off") for value in checks.values())
    return Response(checks, status_code=200 if ready else 503)


routes = [healthz, readyz, metrics_page]
