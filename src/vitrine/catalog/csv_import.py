"""CSV import and export of a merchant's catalog (format: docs/catalog.md).

An import runs in the background and records its progress in a CatalogImport row the page
polls. Every row is checked first; then everything is written in one transaction, or nothing
is: one broken row among 5,000 leaves the catalog as it was and lists every error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from vitrine.accounts.actor import Actor
from vitrine.catalog import rules
from vitrine.catalog.csv_format import (
    COLUMNS,
    ParsedRow,
    RowError,
    Table,
    parse_row,
    read_table,
    write_catalog,
)
from vitrine.catalog.csv_plan import currency_of_products, load_stored, plan_import, write_plan
from vitrine.catalog.models import CatalogImport, ImportStatus, Product
from vitrine.catalog.rules import Invalid
from vitrine.catalog.views import load_views
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.core.errors import NotFound, NotSignedIn, ValidationFailed

log = logging.getLogger(__name__)

PROGRESS_EVERY = 200  # rows checked between two progress updates of the job
MAX_LISTED_ERRORS = 1000


@dataclass(frozen=True, slots=True)
class ImportView:
    """An import job as the page shows it while polling. `errors` are dicts with row (the
    spreadsheet row, header = 1), column and message."""

    id: int
    merchant_id: int
    filename: str
    status: ImportStatus
    total_rows: int
    checked_rows: int
    created_count: int
    updated_count: int
    errors: list[dict[str, Any]]
    started_at: datetime
    finished_at: datetime | None

    @property
    def percent(self) -> int:
        if self.status is not ImportStatus.RUNNING:
            return 100
        return 100 * self.checked_rows // self.total_rows if self.total_rows else 0

    @property
    def saving(self) -> bool:
        """Every row is checked and the catalog is being written."""
        return self.status is ImportStatus.RUNNING and self.checked_rows >= self.total_rows


# --- the public entry points ------------------------------------------------------------


class CatalogImports:
    """Runs imports as background tasks of the app's event loop. The app makes one at start-up
    (after `fail_interrupted_imports`) and awaits `aclose()` at shutdown."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._tasks: dict[int, asyncio.Task[None]] = {}

    async def start_import(self, actor: Actor, merchant_id: int, filename: str, data: bytes) -> int:
        """Check the file's encoding, header and size now (ValidationFailed naming `file`),
        then import it in the background. Returns the job id to poll with `import_status`."""
        job_id, table = await _open_job(actor, self.db, merchant_id, filename, data)
        task = asyncio.create_task(run_import(self.db, job_id, merchant_id, table))
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))
        return job_id

    async def wait(self, job_id: int) -> None:
        """Until the job has finished (tests, the CLI)."""
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.shield(task)

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def import_catalog(
    actor: Actor, db: Database, merchant_id: int, filename: str, data: bytes
) -> ImportView:
    """Import a file and wait for the outcome (the demo seed, the CLI, the API's sync mode)."""
    job_id, table = await _open_job(actor, db, merchant_id, filename, data)
    await run_import(db, job_id, merchant_id, table)
    return await import_status(actor, db, job_id)


async def import_status(actor: Actor, db: Database, job_id: int) -> ImportView:
    """The job's progress and outcome, for its merchant's owner and staff."""
    if not actor.signed_in:
        raise NotSignedIn("Sign in to manage this brand")
    async with db.read() as session:
        job = await session.get(CatalogImport, job_id)
    if job is None or not actor.works_for(job.merchant_id):
        raise NotFound(f"Import #{job_id} is not one of your imports")
    actor.require_manager(job.merchant_id)
    return _view(job)


async def recent_imports(
    actor: Actor, db: Database, merchant_id: int, *, limit: int = 10
) -> list[ImportView]:
    actor.require_manager(merchant_id)
    async with db.read() as session:
        jobs = await session.scalars(
            select(CatalogImport)
            .where(CatalogImport.merchant_id == merchant_id)
            .order_by(CatalogImport.id.desc())
            .limit(limit)
        )
        return [_view(job) for job in jobs]


async def fail_interrupted_imports(db: Database, *, started_before: datetime) -> int:
    """Mark imports left running by a stopped server as failed (nothing of them was written,
    the write is one transaction). Call at start-up with the time the process started."""
    async with db.write() as tx:
        result = await tx.session.execute(
            update(CatalogImport)
            .where(
                CatalogImport.status == ImportStatus.RUNNING,
                CatalogImport.started_at < started_before,
            )
            .values(
                status=ImportStatus.FAILED,
                finished_at=utc_now(),
                errors=[
                    RowError(
                        0,
                        "",
                        "the server stopped during this import; nothing was written — "
                        "import the file again",
                    ).as_dict()
                ],
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)


async def export_catalog(
    actor: Actor, db: Database, merchant_id: int, *, status: str | None = None
) -> bytes:
    """The merchant's catalog (every product, or those of one status) as a CSV file."""
    actor.require_manager(merchant_id)
    query = select(Product).where(Product.merchant_id == merchant_id).order_by(Product.id)
    if status:
        try:
            query = query.where(Product.status == rules.clean_status(status))
        except Invalid as error:
            raise ValidationFailed({"status": error.message}) from None
    async with db.read() as session:
        products = (await session.scalars(query)).all()
        views = await load_views(session, products)
    return write_catalog(views)


# --- the job ----------------------------------------------------------------------------


async def _open_job(
    actor: Actor, db: Database, merchant_id: int, filename: str, data: bytes
) -> tuple[int, Table]:
    actor.require_manager(merchant_id)
    table = read_table(data)
    async with db.write() as tx:
        job = CatalogImport(
            merchant_id=merchant_id,
            filename=(filename.strip() or "catalog.csv")[-200:],
            status=ImportStatus.RUNNING,
            total_rows=len(table.rows),
            started_by=actor.user_id,
            errors=[],
        )
        tx.session.add(job)
        await tx.session.flush()
        return job.id, table


async def run_import(db: Database, job_id: int, merchant_id: int, table: Table) -> None:
    """Check every row (recording progress), then write all of it or nothing."""
    try:
        await _run(db, job_id, merchant_id, table)
    except asyncio.CancelledError:
        await _finish(db, job_id, [RowError(0, "", "the import was stopped; nothing was written")])
        raise
    except Exception:
        log.exception("catalog import %s failed", job_id)
        await _finish(
            db, job_id, [RowError(0, "", "the import failed unexpectedly; nothing was written")]
        )


async def _run(db: Database, job_id: int, merchant_id: int, table: Table) -> None:
    async with db.read() as session:
        stored = await load_stored(session, merchant_id)
    currencies = currency_of_products(table, stored)
    parsed: list[ParsedRow] = []
    errors: list[RowError] = []
    for start in range(0, len(table.rows), PROGRESS_EVERY):
        for number, cells in table.rows[start : start + PROGRESS_EVERY]:
            handle = cells.get("product_handle", "").strip()
            row, row_errors = parse_row(
                number,
                cells,
                table.columns,
                currencies.get(handle),
                decimal_comma=table.decimal_comma,
            )
            errors += row_errors
            if row is not None:
                parsed.append(row)
        checked = min(start + PROGRESS_EVERY, len(table.rows))
        if checked < len(table.rows):
            await _progress(db, job_id, checked)
    plan, plan_errors = plan_import(parsed, stored, table.columns)
    errors += plan_errors
    if errors:
        await _finish(db, job_id, errors)
        return
    await _progress(db, job_id, len(table.rows))
    try:
        async with db.write() as tx:
            # Plan again inside the transaction: the catalog may have changed while we checked.
            stored = await load_stored(tx.session, merchant_id)
            plan, plan_errors = plan_import(parsed, stored, table.columns)
            if plan_errors:
                raise _Refused(plan_errors)
            await write_plan(tx.session, merchant_id, plan)
            await tx.session.execute(
                update(CatalogImport)
                .where(CatalogImport.id == job_id)
                .values(
                    status=ImportStatus.SUCCEEDED,
                    checked_rows=len(table.rows),
                    created_count=plan.created,
                    updated_count=plan.updated,
                    finished_at=utc_now(),
                )
            )
    except _Refused as refused:
        await _finish(db, job_id, refused.errors)
    except IntegrityError:
        await _finish(
            db,
            job_id,
            [
                RowError(
                    0,
                    "",
                    "the catalog was changed by someone else during the import; nothing was "
                    "written — import the file again",
                )
            ],
        )


class _Refused(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


async def _progress(db: Database, job_id: int, checked: int) -> None:
    async with db.write() as tx:
        await tx.session.execute(
            update(CatalogImport).where(CatalogImport.id == job_id).values(checked_rows=checked)
        )


async def _finish(db: Database, job_id: int, errors: Sequence[RowError]) -> None:
    order = {column: index for index, column in enumerate(COLUMNS)}
    listed = sorted(errors, key=lambda error: (error.row, order.get(error.column, -1)))
    stored = [error.as_dict() for error in listed[:MAX_LISTED_ERRORS]]
    if len(listed) > MAX_LISTED_ERRORS:
        more = len(listed) - MAX_LISTED_ERRORS
        stored.append(
            RowError(0, "", f"and {more:,} more errors; fix these and import again").as_dict()
        )
    async with db.write() as tx:
        job = await tx.session.get(CatalogImport, job_id)
        if job is None:
            return
        job.status = ImportStatus.FAILED
        job.errors = stored
        job.finished_at = utc_now()


def _view(job: CatalogImport) -> ImportView:
    return ImportView(
        id=job.id,
        merchant_id=job.merchant_id,
        filename=job.filename,
        status=job.status,
        total_rows=job.total_rows,
        checked_rows=job.checked_rows,
        created_count=job.created_count,
        updated_count=job.updated_count,
        errors=list(job.errors or []),
        started_at=job.started_at,
        finished_at=job.finished_at,
    )
