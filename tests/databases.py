"""Empty databases with the current schema, for the fixtures that hand them to tests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from vitrine.models import Base


async def new_sqlite(directory: Path) -> str:
    """The URL of a new SQLite database in `directory`, its tables created."""
    url = f"sqlite+aiosqlite:///{directory / 'vitrine.db'}"
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    await engine.dispose()
    return url
