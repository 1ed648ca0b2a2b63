"""CI fails if the models and the migrations disagree, on SQLite and on PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.backends import POSTGRES_URL
from vitrine.core.db import async_url
from vitrine.core.migrate import upgrade
from vitrine.models import Base


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured: set VITRINE_TEST_POSTGRES_URL")
    name = f"vitrine_migrations_{secrets.token_hex(4)}"
    admin_url = async_url(POSTGRES_URL)

    async def run(sql: str) -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(sql))
        await engine.dispose()

    anyio.run(run, f'CREATE DATABASE "{name}"')
    yield f"{admin_url.rpartition('/')[0]}/{name}"
    anyio.run(run, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def test_migrations_build_exactly_the_schema_the_models_describe(empty_database: str) -> None:
    upgrade(empty_database)
    upgrade(empty_database)  # running it again changes nothing

    async def differences() -> list[object]:
        engine = create_async_engine(async_url(empty_database))
        async with engine.connect() as connection:
            found = await connection.run_sync(_differences)
        await engine.dispose()
        return found

    assert anyio.run(differences) == []
