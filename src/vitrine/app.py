"""The ASGI application: wires storage, broker and the optional parts from settings; no globals."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import HTTPException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from redis.exceptions import RedisError

from vitrine.config import Settings, secret_key
from vitrine.core.errors import VitrineError
from vitrine.web import filters
from vitrine.web import metrics as observability
from vitrine.web.api import routes as api_routes
from vitrine.web.errors import on_http_error, on_service_down, on_unexpected, on_vitrine_error
from vitrine.web.metrics import Metrics
from vitrine.web.pages import (
    accounts,
    admin,
    analytics,
    browse,
    catalog,
    discover,
    embed,
    media,
    merchants,
    notify,
    orders,
    payments,
    payouts,
    replay,
    shop,
    studio,
)
from vitrine.web.security import refuse_impossible_ids, security_headers
from vitrine.wiring import running

WEB = Path(__file__).resolve().parent / "web"
log = logging.getLogger(__name__)


def create_app(settings: Settings, *, extra_routes: Sequence[Any] = ()) -> Litestar:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "media").mkdir(exist_ok=True)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with running(settings, with_edge=settings.live_edge) as services:
            app.state.services = services
            app.state.metrics = metrics
            metrics.watch(services)
            # What exists now (modules, templates, wiring) lives as long as the process: out of
            # the collector's sight, so the full collections that a burst of requests (a flash
            # deal's thousands of taps) sets off stay short.
            gc.collect()
            gc.freeze()
            yield

    metrics = Metrics()
    templates = TemplateConfig(directory=WEB / "templates", engine=JinjaTemplateEngine)
    templates.engine_callback = filters.install
    page_routes = [
        *accounts.routes,
        *browse.routes,
        *merchants.routes,
        *admin.routes,
        *studio.routes,
        *catalog.routes,
        *media.routes,
        *payments.routes,
        *observability.routes,
        *notify.routes,
        *discover.routes,
        *shop.routes,
        *orders.routes,
        *payouts.routes,
        *analytics.routes,
        *replay.routes,
        *embed.routes,
    ]
    return Litestar(
        route_handlers=[
            Router("/", route_handlers=[*page_routes, *extra_routes], include_in_schema=False),
            Router("/api/v1", route_handlers=api_routes.handlers()),
            create_static_files_router("/static", directories=[WEB / "static"], name="static"),
            create_static_files_router(
                "/media", directories=[settings.data_dir / "media"], name="media"
            ),
        ],
        lifespan=[lifespan],
        template_config=templates,
        csrf_config=CSRFConfig(
            secret=secret_key(settings),
            cookie_name="vitrine_csrf",
            cookie_samesite="lax",
            cookie_secure=settings.base_url.startswith("https://"),
            header_name="x-csrf-token",
            exclude=["/api/v1", "/media/nginx", "/payments/webhook"],
        ),
        exception_handlers={
            VitrineError: on_vitrine_error,
            HTTPException: on_http_error,
            RedisError: on_service_down,
            ConnectionError: on_service_down,
            Exception: on_unexpected,
        },
        middleware=[metrics.middleware, security_headers],
        before_request=refuse_impossible_ids,
        request_max_body_size=settings.max_upload_bytes + 1024 * 1024,
        openapi_config=api_routes.openapi_config(),
        debug=False,
        logging_config=None,  # vitrine.logs configures logging once, for every part
    )
