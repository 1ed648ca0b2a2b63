"""Bulk inserts for the deal writer, straight through the database driver.

SQLAlchemy's executemany processes every parameter in Python; for a thousand winners that is
most of a batch's time. Here rows are plain values sent by the driver itself, inside the
session's current transaction (so they commit or roll back with everything else): on
PostgreSQL one `INSERT … SELECT FROM unnest($1::type[], …)` per table, which asyncpg
encodes in C and the server runs as one statement; on SQLite sqlite3's executemany, called
directly on the event loop's thread: the aiosqlite worker thread would take and give back
the GIL for every row, and under a busy event loop each handover waits (measured: a batch
of 700 winners took 350 ms that way, under 20 ms this way).

Values must already be plain: ints, strings, and timestamps made by `stamp`. The session
must have run a statement first (the transaction has begun)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

Row = tuple[Any, ...]


def stamp(moment: datetime, *, sqlite: bool) -> Any:
    """A UTC timestamp as the driver takes it: the text SQLAlchemy's SQLite DateTime stores
    and reads back, or an aware datetime for asyncpg."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else utc


async def insert_rows(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Row],
    *,
    constants: Mapping[str, str] | None = None,
    returning: Sequence[str] = (),
) -> list[Row]:
    """INSERT `rows` (values for `columns`, in order) plus `constants` (SQL literals the
    caller controls, for columns every row shares) into `table`; the `returning` columns of
    the rows inserted, in no particular order."""
    if not rows:
        return []
    literal = tuple(dict(constants or {}).items())
    back = tuple(returning)
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    if connection.dialect.name == "sqlite":
        if not back:
            await driver.executemany(_sqlite_insert(table, tuple(columns), literal), rows)
            return []
        sync = _sqlite_in_this_thread(driver)
        if sync is None:
            raise RuntimeError("RETURNING needs the sqlite3 connection itself")
        # executemany discards RETURNING rows: multi-row VALUES, within SQLite's variable limit.
        found: list[Row] = []
        step = max(1, 30_000 // len(columns))
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            sql = _sqlite_insert(table, tuple(columns), literal, len(chunk), back)
            found.extend(sync.execute(sql, [value for row in chunk for value in row]).fetchall())
        return found
    arrays = [list(values) for values in zip(*rows, strict=True)]
    sql = _unnest_insert(table, tuple(columns), literal, back)
    if not back:
        await driver.execute(sql, *arrays)
        return []
    return [tuple(record) for record in await driver.fetch(sql, *arrays)]


# A constraint refusal as it surfaces here: through SQLAlchemy, or straight from the driver.
CONSTRAINT_REFUSED: tuple[type[Exception], ...] = (
    IntegrityError,
    sqlite3.IntegrityError,
    asyncpg.exceptions.IntegrityConstraintViolationError,
)


async def sqlite_connection(session: AsyncSession) -> sqlite3.Connection | None:
    """The session's own sqlite3 connection, usable from this thread inside the current
    transaction (SQLAlchemy opens it with check_same_thread=False), or None."""
    connection = await session.connection()
    if connection.dialect.name != "sqlite":
        return None
    raw = await connection.get_raw_connection()
    return _sqlite_in_this_thread(raw.driver_connection)


def _sqlite_in_this_thread(driver: Any) -> sqlite3.Connection | None:
    # aiosqlite keeps the sqlite3 connection in `_conn`; without it, take the slow path.
    sync = getattr(driver, "_conn", None)
    return sync if isinstance(sync, sqlite3.Connection) else None


@cache
def _sqlite_insert(
    table: Table,
    columns: tuple[str, ...],
    literal: tuple[tuple[str, str], ...],
    count: int = 1,
    returning: tuple[str, ...] = (),
) -> str:
    _check(table, columns + returning, literal)
    names = ", ".join([*columns, *(name for name, _ in literal)])
    places = "(" + ", ".join(["?"] * len(columns) + [value for _, value in literal]) + ")"
    back = f" RETURNING {', '.join(returning)}" if returning else ""
    values = ", ".join([places] * count)
    return f"INSERT INTO {table.name} ({names}) VALUES {values}{back}"  # noqa: S608 (names checked)


@cache
def _unnest_insert(
    table: Table,
    columns: tuple[str, ...],
    literal: tuple[tuple[str, str], ...],
    returning: tuple[str, ...] = (),
) -> str:
    _check(table, columns + returning, literal)
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    arrays = ", ".join(
        f"${index}::{table.c[name].type.compile(dialect=dialect)}[]"
        for index, name in enumerate(columns, start=1)
    )
    names = ", ".join([*columns, *(name for name, _ in literal)])
    picked = ", ".join([*(f"u.{name}" for name in columns), *(value for _, value in literal)])
    back = f" RETURNING {', '.join(returning)}" if returning else ""
    return (
        f"INSERT INTO {table.name} ({names}) "  # noqa: S608 (names checked)
        f"SELECT {picked} FROM unnest({arrays}) AS u({', '.join(columns)}){back}"
    )


def _check(table: Table, columns: tuple[str, ...], literal: tuple[tuple[str, str], ...]) -> None:
    for name in [*columns, *(name for name, _ in literal)]:
        if name not in table.c:
            raise ValueError(f"{table.name} has no column {name}")
