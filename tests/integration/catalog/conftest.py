from __future__ import annotations

import pytest
from litestar import Litestar
from tests.integration.catalog.shops import Shop, make_shop

from vitrine.app import create_app
from vitrine.config import Settings
from vitrine.core.db import Database
from vitrine.web.pages import catalog as catalog_pages


@pytest.fixture
async def shop(db: Database) -> Shop:
    return await make_shop(db, "acme")


@pytest.fixture
async def rival(db: Database) -> Shop:
    return await make_shop(db, "rival")


@pytest.fixture
async def app(settings: Settings) -> Litestar:
    """The app with the catalog pages, whether or not app.py registers them yet."""
    app = create_app(settings)
    if any(route.path == "/manage/{merchant_id:int}/catalog" for route in app.routes):
        return app
    return create_app(settings, extra_routes=catalog_pages.routes)
