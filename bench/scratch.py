"""A throw-away PostgreSQL database for a benchmark run, created next to the one given."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from vitrine.core.db import async_url


async def scratch_postgres(
    admin_url: str, prefix: str = "vitrine_bench"
) -> tuple[str, Callable[[], Awaitable[None]]]:
    """(URL of a new empty database, a coroutine function that drops it)."""
    admin = async_url(admin_url)
    name = f"{prefix}_{secrets.token_hex(4)}"
    base, _, _ = admin.rpartition("/")

    async def run(statement: str) -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(statement))
        await engine.dispose()

    await run(f'CREATE DATABASE "{name}"')

    async def drop() -> None:
        await run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{base}/{name}", drop
