"""Writing flash-deal winners: collected for a few milliseconds, then written in one
transaction: the deal's `claimed` counter (the database's last guard: `claimed + n <=
quantity` while the deal is live), the `UNIQUE(deal, buyer)` claims and one hold per winner
(`UNIQUE(buyer, key)`), nothing else: the order, its line, its reservation and its history
are created when the shopper goes on to pay (`win_checkout`), one shopper at a time. Answers
are resolved after the commit, with one deal announcement per batch.

If a batch fails, its winners are written one by one; one the database refuses gets a
refusal (or its existing hold, for a repeated key) and its unit goes back to the gate."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vitrine.accounts.models import Merchant
from vitrine.catalog.models import Product, Variant
from vitrine.commerce.announce import Announcer, DealState
from vitrine.commerce.bulk import CONSTRAINT_REFUSED, insert_rows, sqlite_connection, stamp
from vitrine.commerce.calculations import Totals, order_totals
from vitrine.commerce.errors import DealClosed, KeyReused, SoldOut
from vitrine.commerce.gate import DealGate
from vitrine.commerce.models import (
    Deal,
    DealClaim,
    DealHold,
    DealHoldStatus,
    DealStatus,
    table_of,
)
from vitrine.core.db import Database, Tx
from vitrine.core.errors import Unavailable

log = logging.getLogger(__name__)

REMEMBERED_WINS = 100_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_HOLD_COLUMNS = (
    "deal_id",
    "variant_id",
    "buyer_id",
    "idempotency_key",
    "quantity",
    "subtotal",
    "shipping",
    "tax",
    "currency",
    "created_at",
    "expires_at",
)
_HELD = {"status": f"'{DealHoldStatus.HELD.value}'"}
_CLAIM_COLUMNS = ("deal_id", "buyer_id", "quantity")
_HOLD_RETURNS = ("buyer_id", "idempotency_key", "id")


@dataclass(frozen=True, slots=True)
class DealTerms:
    """What a tap needs to know about a deal, cached in memory so losers cost no query."""

    id: int
    show_id: int
    merchant_id: int
    product_id: int
    variant_id: int
    product_title: str
    sku: str
    deal_price: int
    currency: str
    quantity: int
    per_shopper_limit: int
    starts_at: datetime
    ends_at: datetime
    shipping_flat: int
    tax_bps: int

    def state(self, remaining: int, *, ended: bool = False) -> DealState:
        status = "ended" if ended else ("sold_out" if remaining <= 0 else "live")
        return DealState(
            deal_id=self.id,
            show_id=self.show_id,
            product_id=self.product_id,
            variant_id=self.variant_id,
            deal_price=self.deal_price,
            currency=self.currency,
            quantity=self.quantity,
            remaining=max(remaining, 0),
            per_shopper_limit=self.per_shopper_limit,
            ends_at=self.ends_at,
            status=status,
        )


@dataclass(frozen=True, slots=True)
class DealPurchase:
    """A won tap: a unit held until `hold_expires_at`; the order (`order_id`) exists once the
    shopper has gone on to pay (`win_checkout`)."""

    hold_id: int
    deal_id: int
    quantity: int
    total: int
    currency: str
    hold_expires_at: datetime
    order_id: int | None = None

    @property
    def pay_url(self) -> str:
        return f"/deals/holds/{self.hold_id}/pay"


@dataclass(slots=True)
class _Win:
    terms: DealTerms
    buyer_id: int
    quantity: int
    key: str
    bought_before: int
    future: asyncio.Future[DealPurchase]


class _DealGuard(Exception):
    """The database refused a batch's deal update: sold out there, or the deal has ended."""

    def __init__(self, deal_id: int) -> None:
        super().__init__(deal_id)
        self.deal_id = deal_id


class WinnerWriter:
    def __init__(
        self,
        db: Database,
        gate: DealGate,
        announcer: Announcer,
        *,
        hold: timedelta,
        clock: Callable[[], datetime],
        window_s: float,
        batch_max: int,
    ) -> None:
        self._db = db
        self._gate = gate
        self._announcer = announcer
        self._hold = hold
        self._clock = clock
        self._window = window_s
        self._batch_max = batch_max
        self._pending: list[_Win] = []
        self._inflight: dict[tuple[int, str], asyncio.Future[DealPurchase]] = {}
        # Recent wins, so a retried tap is answered without a query (bounded: oldest go).
        self._answered: OrderedDict[tuple[int, str], DealPurchase] = OrderedDict()
        self._writer: asyncio.Task[None] | None = None
        self._connection: AsyncConnection | None = None
        self._using_connection = asyncio.Lock()  # one statement at a time on it

    def write(
        self, terms: DealTerms, buyer_id: int, quantity: int, key: str, bought_before: int
    ) -> asyncio.Future[DealPurchase]:
        """Queue a winner; the future resolves once it is committed."""
        future: asyncio.Future[DealPurchase] = asyncio.get_running_loop().create_future()
        self._inflight[(buyer_id, key)] = future
        self._pending.append(_Win(terms, buyer_id, quantity, key, bought_before, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop())
        return future

    def known(self, buyer_id: int, key: str) -> DealPurchase | asyncio.Future[DealPurchase] | None:
        """What this instance knows of a won tap: its hold, recently written here, or its
        pending write; None if neither (won elsewhere, or before a restart)."""
        return self._answered.get((buyer_id, key)) or self._inflight.get((buyer_id, key))

    async def aclose(self) -> None:
        while self._writer is not None:
            await asyncio.shield(self._writer)
        async with self._using_connection:
            if self._connection is not None:
                connection, self._connection = self._connection, None
                await connection.close()

    async def _write_loop(self) -> None:
        try:
            while self._pending:
                await asyncio.sleep(self._window)
                batch = self._pending[: self._batch_max]
                del self._pending[: self._batch_max]
                async with self._using_connection:
                    await self._write_batch(batch)
        finally:
            self._writer = None

    async def warm_up(self) -> None:
        """Open the writer's own connection and, on PostgreSQL, run the batch statement once
        on nothing, so a deal's first batch pays neither for connecting nor for preparing
        (asyncpg looks the array types up once per connection)."""
        async with self._using_connection:
            if self._connection is not None:
                return
            try:
                async with self._writing() as tx:
                    await tx.session.execute(select(1))
                if not self._db.sqlite:
                    await self._one_statement(_NO_DEAL, [])  # deal -1: changes nothing
            except Exception:
                log.warning("could not warm up the deal writer", exc_info=True)

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[Tx]:
        """A transaction on the writer's own connection (a new one after a failure)."""
        if self._connection is None:
            self._connection = await self._db.own_connection()
        try:
            async with self._db.write_on(self._connection) as tx:
                yield tx
        except Exception:
            connection, self._connection = self._connection, None
            with contextlib.suppress(Exception):
                await connection.close()
            raise

    async def _write_batch(self, batch: list[_Win]) -> None:
        try:
            if self._db.sqlite or not _one_deal_first_claims(batch):
                async with self._writing() as tx:
                    purchases = await self._insert_wins(tx, batch)
            else:
                purchases = await self._one_statement(batch[0].terms, batch)
        except Exception as error:  # one bad winner must not sink the others: one by one
            log.warning("deal batch of %d failed (%s); writing one by one", len(batch), error)
            for win in batch:
                await self._write_alone(win)
            return
        for win, purchase in zip(batch, purchases, strict=True):
            self._resolve(win, purchase)

    async def _one_statement(self, terms: DealTerms, batch: list[_Win]) -> list[DealPurchase]:
        """PostgreSQL, the common batch (one deal, every winner's first claim): the deal
        update, the claims and the holds in one statement, committed on its own. One round
        trip instead of five, each of which waits its turn on a busy event loop."""
        if self._connection is None:
            self._connection = await self._db.own_connection()
        written = self._clock()
        expires_at = written + self._hold
        amounts = [_amounts(win) for win in batch]
        units = sum(win.quantity for win in batch)
        try:
            raw = await self._connection.get_raw_connection()
            driver: Any = raw.driver_connection
            rows = await driver.fetch(
                _ONE_STATEMENT,
                units,
                terms.id,
                [win.buyer_id for win in batch],
                [win.quantity for win in batch],
                terms.variant_id,
                terms.currency,
                written,
                expires_at,
                [win.key for win in batch],
                [amount.subtotal for amount in amounts],
                [amount.shipping for amount in amounts],
                [amount.tax for amount in amounts],
            )
        except Exception:
            connection, self._connection = self._connection, None
            with contextlib.suppress(Exception):
                await connection.close()
            raise
        if not batch:
            return []
        if not rows:
            raise _DealGuard(terms.id)
        ids = {(row[1], row[2]): row[3] for row in rows}
        await self._announcer.deal_updated(terms.state(int(rows[0][0])))
        return [
            DealPurchase(
                ids[(win.buyer_id, win.key)],
                terms.id,
                win.quantity,
                amount.total,
                terms.currency,
                expires_at,
            )
            for win, amount in zip(batch, amounts, strict=True)
        ]

    async def _write_alone(self, win: _Win) -> None:
        try:
            async with self._db.write() as tx:
                (purchase,) = await self._insert_wins(tx, [win])
        except CONSTRAINT_REFUSED:
            await self._gate.give_back(win.terms.id, win.buyer_id, win.quantity, win.key)
            existing = await find_purchase(self._db, win.buyer_id, win.key)
            if existing is not None and existing.deal_id != win.terms.id:
                self._fail(win, KeyReused("This tap's key was already used in another deal"))
            elif existing is not None:
                self._resolve(win, existing)
            else:
                self._fail(win, SoldOut("Sold out"))
        except _DealGuard:
            await self._gate.give_back(win.terms.id, win.buyer_id, win.quantity, win.key)
            if self._clock() >= win.terms.ends_at:
                self._fail(win, DealClosed("This deal has ended"))
            else:
                self._fail(win, SoldOut("Sold out"))
        except Exception as error:
            log.exception("could not record a deal win")
            await self._gate.give_back(win.terms.id, win.buyer_id, win.quantity, win.key)
            self._fail(win, error if isinstance(error, Unavailable) else _not_recorded())
        else:
            self._resolve(win, purchase)

    def _resolve(self, win: _Win, purchase: DealPurchase) -> None:
        self._inflight.pop((win.buyer_id, win.key), None)
        self._answered[(win.buyer_id, win.key)] = purchase
        if len(self._answered) > REMEMBERED_WINS:
            self._answered.popitem(last=False)
        if not win.future.done():
            win.future.set_result(purchase)

    def _fail(self, win: _Win, error: BaseException) -> None:
        self._inflight.pop((win.buyer_id, win.key), None)
        if not win.future.done():
            win.future.set_exception(error)
            win.future.exception()  # a shopper who left must not log "never retrieved"

    async def _insert_wins(self, tx: Tx, batch: list[_Win]) -> list[DealPurchase]:
        session = tx.session
        units: dict[int, int] = defaultdict(int)
        for win in batch:
            units[win.terms.id] += win.quantity
        remaining: dict[int, int] = {}
        sync = await sqlite_connection(session)
        for deal_id in sorted(units):
            if sync is not None:  # on this thread: see vitrine.commerce.bulk
                row = sync.execute(
                    "UPDATE deals SET claimed = claimed + ? WHERE id = ? AND status = 'live'"
                    " AND claimed + ? <= quantity RETURNING quantity - claimed",
                    (units[deal_id], deal_id, units[deal_id]),
                ).fetchone()
                if row is None:
                    raise _DealGuard(deal_id)
                remaining[deal_id] = int(row[0])
                continue
            taken = await session.execute(
                update(Deal)
                .where(
                    Deal.id == deal_id,
                    Deal.status == DealStatus.LIVE,
                    Deal.claimed + units[deal_id] <= Deal.quantity,
                )
                .values(claimed=Deal.claimed + units[deal_id])
                .returning(Deal.quantity - Deal.claimed)
            )
            left = taken.scalar_one_or_none()
            if left is None:
                raise _DealGuard(deal_id)
            remaining[deal_id] = int(left)

        # One timestamp per batch: the moment the winners are written.
        sqlite = self._db.sqlite
        written = self._clock()
        expires_at = written + self._hold
        now, until = stamp(written, sqlite=sqlite), stamp(expires_at, sqlite=sqlite)
        await self._record_claims(tx, batch)
        holds: list[tuple[object, ...]] = []
        totals: list[int] = []
        for win in batch:
            terms = win.terms
            order = _amounts(win)
            totals.append(order.total)
            holds.append(
                (
                    terms.id,
                    terms.variant_id,
                    win.buyer_id,
                    win.key,
                    win.quantity,
                    order.subtotal,
                    order.shipping,
                    order.tax,
                    terms.currency,
                    now,
                    until,
                )
            )
        inserted = await insert_rows(
            session,
            table_of(DealHold),
            _HOLD_COLUMNS,
            holds,
            constants=_HELD,
            returning=_HOLD_RETURNS,
        )
        ids = {(buyer, key): hold_id for buyer, key, hold_id in inserted}
        hold_ids = [ids[(win.buyer_id, win.key)] for win in batch]
        by_deal = {win.terms.id: win.terms for win in batch}
        for deal_id, left in remaining.items():
            state = by_deal[deal_id].state(left)
            tx.on_commit(lambda state=state: self._announcer.deal_updated(state))  # type: ignore[misc]
        return [
            DealPurchase(hold_id, win.terms.id, win.quantity, total, win.terms.currency, expires_at)
            for hold_id, win, total in zip(hold_ids, batch, totals, strict=True)
        ]

    async def _record_claims(self, tx: Tx, batch: list[_Win]) -> None:
        await insert_rows(
            tx.session,
            table_of(DealClaim),
            _CLAIM_COLUMNS,
            [(win.terms.id, win.buyer_id, win.quantity) for win in batch if win.bought_before == 0],
        )
        for win in batch:
            if win.bought_before == 0:
                continue
            added = await tx.session.execute(
                update(DealClaim)
                .where(
                    DealClaim.deal_id == win.terms.id,
                    DealClaim.buyer_id == win.buyer_id,
                    DealClaim.quantity + win.quantity <= win.terms.per_shopper_limit,
                )
                .values(quantity=DealClaim.quantity + win.quantity)
                .returning(DealClaim.id)
            )
            if added.scalar_one_or_none() is None:
                raise _DealGuard(win.terms.id)


async def find_purchase(db: Database, buyer_id: int, key: str) -> DealPurchase | None:
    """The hold a tap with this key won, if it has been written."""
    async with db.read() as session:
        hold = await session.scalar(
            select(DealHold).where(DealHold.buyer_id == buyer_id, DealHold.idempotency_key == key)
        )
    return None if hold is None else purchase_of(hold)


def purchase_of(hold: DealHold) -> DealPurchase:
    return DealPurchase(
        hold.id,
        hold.deal_id,
        hold.quantity,
        hold.subtotal + hold.shipping + hold.tax,
        hold.currency,
        hold.expires_at,
        hold.order_id,
    )


def terms_of(deal: Deal, product: Product, variant: Variant, merchant: Merchant) -> DealTerms:
    return DealTerms(
        id=deal.id,
        show_id=deal.show_id,
        merchant_id=deal.merchant_id,
        product_id=product.id,
        variant_id=variant.id,
        product_title=product.title,
        sku=variant.sku,
        deal_price=deal.deal_price,
        currency=deal.currency,
        quantity=deal.quantity,
        per_shopper_limit=deal.per_shopper_limit,
        starts_at=deal.starts_at,
        ends_at=deal.ends_at,
        shipping_flat=merchant.shipping_flat,
        tax_bps=merchant.tax_bps,
    )


_NO_DEAL = DealTerms(-1, -1, -1, -1, -1, "", "", 0, "XXX", 1, 1, _EPOCH, _EPOCH, 0, 0)


def _one_deal_first_claims(batch: list[_Win]) -> bool:
    deal_id = batch[0].terms.id
    return all(win.terms.id == deal_id and win.bought_before == 0 for win in batch)


def _amounts(win: _Win) -> Totals:
    return order_totals(
        win.terms.deal_price * win.quantity,
        shipping_flat=win.terms.shipping_flat,
        tax_bps=win.terms.tax_bps,
        currency=win.terms.currency,
    )


# $1 units, $2 deal, $3 buyers, $4 quantities, $5 variant, $6 currency, $7 written,
# $8 expires, $9 keys, $10-$12 subtotals, shippings, taxes. No row back: the deal refused.
_ONE_STATEMENT = f"""
WITH deal AS (
    UPDATE deals SET claimed = claimed + $1
    WHERE id = $2 AND status = '{DealStatus.LIVE.value}' AND claimed + $1 <= quantity
    RETURNING quantity - claimed AS left_over
), claims AS (
    INSERT INTO deal_claims (deal_id, buyer_id, quantity)
    SELECT $2, u.buyer_id, u.quantity
    FROM unnest($3::integer[], $4::integer[]) AS u(buyer_id, quantity)
    WHERE EXISTS (SELECT 1 FROM deal)
), holds AS (
    INSERT INTO deal_holds (deal_id, variant_id, buyer_id, idempotency_key, quantity, subtotal,
                            shipping, tax, currency, created_at, expires_at, status)
    SELECT $2, $5, u.buyer_id, u.key, u.quantity, u.subtotal, u.shipping, u.tax, $6, $7, $8,
           '{DealHoldStatus.HELD.value}'
    FROM unnest($3::integer[], $9::varchar[], $4::integer[], $10::integer[], $11::integer[],
                $12::integer[]) AS u(buyer_id, key, quantity, subtotal, shipping, tax)
    WHERE EXISTS (SELECT 1 FROM deal)
    RETURNING buyer_id, idempotency_key, id
)
SELECT deal.left_over, holds.buyer_id, holds.idempotency_key, holds.id
FROM deal LEFT JOIN holds ON true
"""  # noqa: S608 (enum values, no input)


def _not_recorded() -> Unavailable:
    return Unavailable("Your purchase could not be recorded; please tap again")
