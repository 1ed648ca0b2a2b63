"""The security tests share one running app and one shop per module and storage (SQLite, then
PostgreSQL): building the world through its pages takes longer than most tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.backends import POSTGRES_URL, free_udp_base
from tests.databases import new_sqlite
from tests.security.world import World, build_world
from vitrine.app import create_app
from vitrine.config import Settings
from vitrine.core.db import Database

STORAGE = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module", params=STORAGE)
async def shared_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, postgres: Any
) -> AsyncIterator[str]:
    """A database of this module's own: other tests empty the session's scratch database."""
    if request.param == "sqlite":
        yield await new_sqlite(tmp_path_factory.mktemp("world"))
        return
    if postgres is None:
        pytest.skip("PostgreSQL not configured: set VITRINE_TEST_POSTGRES_URL")
    own = type(postgres)(POSTGRES_URL)  # the suite's scratch-database helper, another name
    await own.create()
    yield own.url
    await own.drop()


@pytest.fixture(scope="module")
def shared_settings(shared_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        data_dir=tmp_path_factory.mktemp("var"),
        database_url=shared_database_url,
        secret_key="test-secret-key-" + "x" * 32,
        live_port=0,
        rtmp_port=0,
        srt_port=free_udp_base(),
    )


@pytest.fixture(scope="module")
def shared_app(shared_settings: Settings) -> Litestar:
    return create_app(shared_settings)


@pytest.fixture(scope="module")
async def shared_client(shared_app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(shared_app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
async def world(
    shared_database_url: str,
    shared_settings: Settings,
    shared_client: AsyncTestClient[Litestar],
) -> AsyncIterator[World]:
    database = Database(shared_database_url)
    yield await build_world(
        database,
        shared_client,
        unsubscribe_secret=shared_settings.secret_key,
        data_dir=shared_settings.data_dir,
    )
    await database.dispose()


@pytest.fixture
def media_dir(shared_settings: Settings) -> Path:
    """Where the shared app keeps uploaded pictures (served under /media/)."""
    return shared_settings.data_dir / "media"
