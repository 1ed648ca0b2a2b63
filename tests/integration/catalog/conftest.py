from __future__ import annotations

import pytest

from tests.integration.catalog.shops import Shop, make_shop
from vitrine.core.db import Database


@pytest.fixture
async def shop(db: Database) -> Shop:
    return await make_shop(db, "acme")


@pytest.fixture
async def rival(db: Database) -> Shop:
    return await make_shop(db, "rival")
