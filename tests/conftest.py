"""Fixtures shared by the whole suite.

Storage tests take the `db` fixture and run twice: on SQLite (always) and on PostgreSQL when
VITRINE_TEST_POSTGRES_URL is set. Broker tests likewise run on the in-process broker and on
Redis when VITRINE_TEST_REDIS_URL is set. What was skipped, and why, is printed at the end."""

from __future__ import annotations

import inspect
import os

os.environ.setdefault("VITRINE_PASSWORD_HASHING", "fast")  # before vitrine is imported
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.backends import CHROMIUM, POSTGRES_URL, REDIS_URL, free_udp_base
from tests.databases import new_sqlite
from tests.web import Browser
from vitrine.app import create_app
from vitrine.config import Settings
from vitrine.core.db import Database, async_url
from vitrine.models import Base

_skipped_backends: dict[str, str] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Every `async def test_…` runs on asyncio through anyio, without a marker on each."""
    if name.startswith("test") and inspect.iscoroutinefunction(obj):
        pytest.mark.anyio(obj)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI (VITRINE_TEST_REQUIRE=postgres,redis,chromium) a missing service fails the run
    instead of silently skipping what needs it."""
    required = {part for part in os.environ.get("VITRINE_TEST_REQUIRE", "").split(",") if part}
    present = {"postgres": POSTGRES_URL, "redis": REDIS_URL, "chromium": CHROMIUM}
    absent = sorted(name for name in required if not present.get(name))
    if absent:
        raise pytest.UsageError(f"required for this run but not available: {', '.join(absent)}")


def pytest_report_header() -> list[str]:
    return [
        f"storage: sqlite{' + postgresql' if POSTGRES_URL else ' only (VITRINE_TEST_POSTGRES_URL unset)'}",
        f"broker: memory{' + redis' if REDIS_URL else ' only (VITRINE_TEST_REDIS_URL unset)'}",
        f"browser: {CHROMIUM or 'none (no chromium on PATH): browser tests are skipped'}",
    ]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not REDIS_URL:
        _skipped_backends["Redis"] = "VITRINE_TEST_REDIS_URL is not set"
    if not CHROMIUM:
        _skipped_backends["Chromium"] = "no chromium found (apt-get install chromium)"
    for what, why in _skipped_backends.items():
        terminalreporter.write_line(f"NOT TESTED: {what}: {why}", yellow=True)


class PostgresDatabases:
    """One scratch database per test session, emptied between tests."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = async_url(admin_url)
        self.name = f"vitrine_test_{secrets.token_hex(4)}"
        base, _, _ = self.admin_url.rpartition("/")
        self.url = f"{base}/{self.name}"
        self.ready = False

    async def create(self) -> None:
        admin = create_async_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        await admin.dispose()
        engine = create_async_engine(self.url)
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        await engine.dispose()
        self.ready = True

    async def empty(self) -> None:
        tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        engine = create_async_engine(self.url)
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await engine.dispose()

    async def drop(self) -> None:
        admin = create_async_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases | None]:
    if not POSTGRES_URL:
        _skipped_backends["PostgreSQL"] = "VITRINE_TEST_POSTGRES_URL is not set"
        yield None
        return
    databases = PostgresDatabases(POSTGRES_URL)
    yield databases
    if databases.ready:
        import anyio

        anyio.run(databases.drop)


STORAGE = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORAGE)
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres: PostgresDatabases | None
) -> AsyncIterator[str]:
    """A URL to an empty database with the current schema, on each storage in turn."""
    if request.param == "sqlite":
        yield await new_sqlite(tmp_path)
        return
    if postgres is None:
        pytest.skip("PostgreSQL not configured: set VITRINE_TEST_POSTGRES_URL")
    if not postgres.ready:
        await postgres.create()
    else:
        await postgres.empty()
    yield postgres.url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings of an instance under test: its own data directory, the test database."""
    return Settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        secret_key="test-secret-key-" + "x" * 32,
        live_port=0,  # the edge picks a free port; pages link to the one it got
        rtmp_port=0,  # so does the RTMP front door
        srt_port=free_udp_base(),
    )


@pytest.fixture
async def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The running app. It lives in its own event loop: set data up through `db`, not through
    the app's own services."""
    async with AsyncTestClient(app) as test_client:
        yield test_client


@pytest.fixture
def browser(client: AsyncTestClient[Litestar]) -> Browser:
    return Browser(client)


@pytest.fixture
def other_browser(client: AsyncTestClient[Litestar]) -> Browser:
    """A second person on the same instance, with cookies of their own."""
    return Browser(client)
