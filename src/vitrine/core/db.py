"""The database: engine factory (SQLite or PostgreSQL), sessions, and transactions whose
side effects (events to viewers, emails) run only once the transaction has committed."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Enum, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from vitrine.core.clock import as_utc
from vitrine.core.errors import Unavailable

log = logging.getLogger(__name__)

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def str_enum(kind: type[enum.Enum], name: str) -> Enum:
    """A string-valued enum column stored as its values (portable: no native PostgreSQL enum)."""
    return Enum(
        kind,
        name=name,
        native_enum=False,
        length=20,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )


OnCommit = Callable[[], Awaitable[None]]


class Tx:
    """A unit of work: its session, plus hooks that run only after a successful commit."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._after_commit: list[OnCommit] = []

    def on_commit(self, hook: OnCommit) -> None:
        self._after_commit.append(hook)

    async def _run_hooks(self) -> None:
        for hook in self._after_commit:
            try:
                await hook()
            except Exception:  # a failed notification never undoes a committed sale
                log.exception("after-commit hook failed")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def async_url(url: str) -> str:
    """Accept the URLs people write (postgres://, sqlite:///...) and pick our async drivers."""
    for plain, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


class Database:
    """Owns the engine. `read()` for queries, `write()` for a transaction with on-commit hooks."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        url = async_url(url)
        self.url = url
        self.sqlite = is_sqlite(url)
        if self.sqlite:
            self.engine: AsyncEngine = create_async_engine(url, echo=echo)
            _configure_sqlite(self.engine)
            # One writer at a time here; BEGIN IMMEDIATE + busy_timeout between processes.
            self._write_lock: asyncio.Lock | None = asyncio.Lock()
            writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        else:
            # Pre-ping drops connections that died with a restarted server; a server that
            # does not answer at all is given up on after 5 s (a 503, not a hung request).
            self.engine = create_async_engine(
                url,
                echo=echo,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                connect_args={"timeout": 5},
            )
            self._write_lock = None
            writer = self.engine
        self._own: set[AsyncConnection] = set()  # closed by dispose(), whoever forgot
        self._reader = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writer = async_sessionmaker(writer, expire_on_commit=False)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with _unavailable_on_outage(), self._reader() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        """A transaction; hooks added with `tx.on_commit` run after it commits, never before."""
        lock: AbstractAsyncContextManager[Any] = self._write_lock or nullcontext()
        async with _unavailable_on_outage(), lock, self._writer() as session, session.begin():
            tx = Tx(session)
            yield tx
        await tx._run_hooks()

    async def own_connection(self) -> AsyncConnection:
        """A connection kept by one long-running writer (`write_on`), out of the pool, so its
        prepared statements stay warm and it never waits for a pooled one."""
        engine = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.sqlite else self.engine
        )
        async with _unavailable_on_outage():
            connection = await engine.connect()
        self._own.add(connection)
        return connection

    @asynccontextmanager
    async def write_on(self, connection: AsyncConnection) -> AsyncIterator[Tx]:
        """`write()` on a connection from `own_connection`."""
        lock: AbstractAsyncContextManager[Any] = self._write_lock or nullcontext()
        async with _unavailable_on_outage(), lock:
            session = AsyncSession(bind=connection, expire_on_commit=False)
            async with session, session.begin():
                tx = Tx(session)
                yield tx
        await tx._run_hooks()

    async def dispose(self) -> None:
        for connection in list(self._own):  # writers that were never closed
            with contextlib.suppress(Exception):
                await connection.close()
        self._own.clear()
        await self.engine.dispose()


class QuickReader:
    """A connection of its own for one hot, tiny query (a session by its token, on every tap
    of a flash deal), below SQLAlchemy: on SQLite run on the event loop's thread (an indexed
    lookup takes microseconds, the aiosqlite thread's round trip much more), on PostgreSQL a
    prepared statement, one query at a time. Reads only, outside any transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._connection: AsyncConnection | None = None
        self._one_at_a_time = asyncio.Lock()

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows of `sql` (placeholders `$1`, `$2`… each once, in order)."""
        async with self._one_at_a_time:
            if self._connection is None:
                self._connection = await self._db.own_connection()
            try:
                raw = await self._connection.get_raw_connection()
                driver: Any = raw.driver_connection
                sync = getattr(driver, "_conn", None) if self._db.sqlite else None
                if isinstance(sync, sqlite3.Connection):
                    return sync.execute(_PLACEHOLDER.sub("?", sql), args).fetchall()
                async with _unavailable_on_outage():
                    return [tuple(record) for record in await driver.fetch(sql, *args)]
            except Exception:
                connection, self._connection = self._connection, None
                with contextlib.suppress(Exception):
                    await connection.close()
                raise


_PLACEHOLDER = re.compile(r"\$\d+")


@asynccontextmanager
async def _unavailable_on_outage() -> AsyncIterator[None]:
    try:
        yield
    except (OperationalError, DBAPIError, OSError) as error:
        if _is_outage(error):
            raise Unavailable(
                "The database is not answering; please try again in a moment"
            ) from error
        raise


def _is_outage(error: BaseException) -> bool:
    text = str(error).lower()
    return isinstance(error, OSError) or any(
        marker in text
        for marker in (
            "connection refused",
            "connection was closed",
            "cannotconnectnow",
            "connection is closed",
            "the database system is",
            "terminating connection",
        )
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN, so we can choose IMMEDIATE for writes.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())
