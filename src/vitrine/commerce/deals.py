"""Flash deals. A host starts a deal: its units are set aside from the variant's stock. Taps go
through the gate, which decides winners in memory (or in Redis); losers are answered at once
and never reach the database. Winners are collected for a few milliseconds and written in one
transaction: for each, an order pending payment with a stock hold and a deal claim. Units left
and sold-out are announced after that commit.

Deals are the host's actions and the shopper's tap; `winners` writes the winners.

A winner's hold that expires returns its unit to the variant's regular stock, not to the
deal (the gate has already counted it). Units the deal did not sell return to stock when it
ends."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select, update

from vitrine.accounts.actor import Actor
from vitrine.accounts.models import Merchant
from vitrine.catalog.models import Product, ProductStatus, Variant
from vitrine.commerce.announce import Announcer, DealState
from vitrine.commerce.errors import DealClosed, DealsPaused, LimitReached, SoldOut
from vitrine.commerce.gate import DealGate, GateAnswer, MemoryDealGate, Outcome
from vitrine.commerce.models import (
    Deal,
    DealClaim,
    DealStatus,
)
from vitrine.commerce.policy import BuyingPolicy
from vitrine.commerce.reservations import put_back_stock, take_stock
from vitrine.commerce.win_checkout import order_for_hold
from vitrine.commerce.winners import (
    DealPurchase,
    DealTerms,
    WinnerWriter,
    find_purchase,
    terms_of,
)
from vitrine.core.clock import utc_now
from vitrine.core.db import Database, Tx
from vitrine.core.errors import (
    NotAllowed,
    NotFound,
    RateLimited,
    Unavailable,
    ValidationFailed,
)
from vitrine.core.money import format_amount
from vitrine.core.ratelimit import RateLimiter
from vitrine.shows.models import Show, ShowHost, ShowStatus

log = logging.getLogger(__name__)

MIN_DURATION_S = 10
MAX_DURATION_S = 60 * 60
MAX_KEY_LENGTH = 64
TAP_BURST = 20  # taps one shopper may make at once on deals, then
TAP_WINDOW_S = 10.0  # ... one every TAP_WINDOW_S / TAP_BURST seconds (2 a second)


class DealService:
    def __init__(
        self,
        db: Database,
        gate: DealGate,
        announcer: Announcer,
        *,
        hold: timedelta = timedelta(minutes=10),
        buying: BuyingPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
        batch_window_s: float = 0.002,
        batch_max: int = 1_000,
        grace: timedelta = timedelta(seconds=2),
        write_waits: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0),
        limiter: RateLimiter | None = None,
    ) -> None:
        self._limiter = limiter
        self._write_waits = write_waits
        self._db = db
        self._gate = gate
        self._announcer = announcer
        self._hold = hold
        self._buying = buying or BuyingPolicy()
        self._clock = clock
        self._grace = grace
        self._terms: dict[int, DealTerms] = {}
        self._winners = WinnerWriter(
            db,
            gate,
            announcer,
            hold=hold,
            clock=clock,
            window_s=batch_window_s,
            batch_max=batch_max,
        )

    # -- host actions -------------------------------------------------------------------

    async def start_deal(
        self,
        actor: Actor,
        show_id: int,
        *,
        deal_price: int,
        quantity: int,
        duration_s: int,
        per_shopper_limit: int = 1,
        variant_id: int | None = None,
        product_id: int | None = None,
    ) -> DealState:
        """Start a deal on a variant (or a product with a single variant) of a live show."""
        user_id = actor.require_signed_in()
        _check_deal_input(deal_price, quantity, duration_s, per_shopper_limit)
        now = self._clock()
        async with self._db.write() as tx:
            show = await tx.session.get(Show, show_id)
            if show is None:
                raise NotFound("This show does not exist")
            await _require_host(tx, actor, show)
            if show.status != ShowStatus.LIVE:
                raise DealClosed("Deals can only be started while the show is live")
            variant, product = await _deal_variant(tx, show.merchant_id, variant_id, product_id)
            if deal_price >= variant.price:
                regular = format_amount(variant.price, product.currency)
                raise ValidationFailed(
                    {"deal_price": f"The deal price must be below the regular price ({regular})"}
                )
            stock_left = await take_stock(tx.session, variant.id, quantity)
            if stock_left is None:
                raise ValidationFailed(
                    {
                        "quantity": f"A deal of {quantity} units is larger than the stock: "
                        f"{product.title} has {variant.stock} left"
                    }
                )
            merchant = await tx.session.get(Merchant, show.merchant_id)
            assert merchant is not None
            deal = Deal(
                show_id=show.id,
                merchant_id=show.merchant_id,
                product_id=product.id,
                variant_id=variant.id,
                deal_price=deal_price,
                currency=product.currency,
                quantity=quantity,
                claimed=0,
                per_shopper_limit=per_shopper_limit,
                starts_at=now,
                ends_at=now + timedelta(seconds=duration_s),
                status=DealStatus.LIVE,
                started_by=user_id,
            )
            tx.session.add(deal)
            await tx.session.flush()
            terms = terms_of(deal, product, variant, merchant)
        await self._announcer.stock_changed(show_id, terms.variant_id, stock_left)
        self._terms[terms.id] = terms
        await self._open_gate(terms, remaining=quantity, bought={})
        state = terms.state(quantity)
        await self._announcer.deal_updated(state)
        return state

    async def end_deal(self, actor: Actor, deal_id: int) -> DealState:
        """The host ends a deal early; unsold units return to stock."""
        actor.require_signed_in()
        async with self._db.read() as session:
            deal = await session.get(Deal, deal_id)
            if deal is None:
                raise NotFound("This deal does not exist")
            show = await session.get(Show, deal.show_id)
            assert show is not None
        async with self._db.write() as tx:
            await _require_host(tx, actor, show)
        closed = await self._close(deal_id, self._clock())
        if closed is None:
            raise DealClosed("This deal has already ended")
        return closed

    async def close_ended(self, now: datetime | None = None) -> int:
        """Close deals past their end (plus a short grace for winners still being written);
        the app calls it every few seconds. Returns how many deals were closed."""
        moment = now or self._clock()
        async with self._db.read() as session:
            due = await session.execute(
                select(Deal.id).where(
                    Deal.status == DealStatus.LIVE, Deal.ends_at <= moment - self._grace
                )
            )
            ids = list(due.scalars())
        closed = 0
        for deal_id in ids:
            if await self._close(deal_id, moment) is not None:
                closed += 1
        return closed

    async def _close(self, deal_id: int, now: datetime) -> DealState | None:
        async with self._db.write() as tx:
            ended = await tx.session.execute(
                update(Deal)
                .where(Deal.id == deal_id, Deal.status == DealStatus.LIVE)
                .values(
                    status=DealStatus.ENDED,
                    returned_to_stock=Deal.quantity - Deal.claimed,
                )
                .returning(Deal.variant_id, Deal.returned_to_stock, Deal.show_id, Deal.ends_at)
            )
            row = ended.one_or_none()
            if row is None:
                return None
            variant_id, returned, show_id, ends_at = row
            if ends_at > now:
                await tx.session.execute(update(Deal).where(Deal.id == deal_id).values(ends_at=now))
            stock_left = await put_back_stock(tx.session, variant_id, returned)
        terms = await self._terms_for(deal_id, open_gate=False)
        terms = replace(terms, ends_at=min(terms.ends_at, now))
        self._terms[deal_id] = terms
        await self._gate.close(deal_id)
        state = terms.state(0, ended=True)
        await self._announcer.deal_updated(state)
        await self._announcer.stock_changed(show_id, variant_id, stock_left)
        return state

    # -- shoppers -----------------------------------------------------------------------

    async def buy(
        self,
        actor: Actor,
        deal_id: int,
        *,
        idempotency_key: str,
        platform: str,
        quantity: int = 1,
    ) -> DealPurchase:
        """One tap on "buy" in a deal. Losers are refused at once (SoldOut, LimitReached,
        DealClosed); a winner gets an order pending payment once it is written. The same
        key always gets the same answer, so a double tap yields one order."""
        self._buying.check(platform)
        buyer_id = actor.require_signed_in()
        key = _check_key(idempotency_key)
        if self._limiter is not None:
            await self._keep_pace(self._limiter, buyer_id)
        if quantity < 1:
            raise ValidationFailed({"quantity": "Buy at least 1"})
        terms = self._terms.get(deal_id) or await self._terms_for(deal_id)
        now = self._clock()
        if quantity > terms.per_shopper_limit:
            raise LimitReached(f"You can buy at most {terms.per_shopper_limit} in this deal")
        if now < terms.starts_at:
            raise DealClosed("This deal has not started yet")
        if now >= terms.ends_at:
            raise DealClosed(f"This deal ended {_ago(now - terms.ends_at)} ago")
        limit = terms.per_shopper_limit
        if isinstance(self._gate, MemoryDealGate):  # no await: one coroutine less per tap
            answer = self._gate.claim_now(deal_id, buyer_id, quantity, limit, key)
        else:
            answer = await self._gate.claim(deal_id, buyer_id, quantity, limit, key)
        if answer.outcome is Outcome.SOLD_OUT:
            raise _sold_out(answer)
        if answer.outcome is Outcome.UNKNOWN_DEAL:
            terms = await self._terms_for(deal_id, reload=True)
            answer = await self._gate.claim(
                deal_id, buyer_id, quantity, terms.per_shopper_limit, key
            )
        if answer.outcome is Outcome.WON:
            if answer.repeat:
                return await self._answer_again(terms, buyer_id, quantity, key)
            return await self._write_win(terms, buyer_id, quantity, key, answer)
        return await self._refuse(terms, buyer_id, key, answer)

    async def _keep_pace(self, limiter: RateLimiter, buyer_id: int) -> None:
        # A person taps a few times; a script taps thousands. Past the burst, 2 a second.
        try:
            wait = await limiter.hit(
                f"deal-taps:{buyer_id}", limit=TAP_BURST, window_s=TAP_WINDOW_S
            )
        except Unavailable as error:
            # The limits' Redis is the gate's: say what the gate would say.
            raise DealsPaused() from error
        if wait:
            raise RateLimited(
                f"Too many taps; wait {math.ceil(wait)} s and try again",
                retry_after_s=math.ceil(wait),
            )

    async def _refuse(
        self, terms: DealTerms, buyer_id: int, key: str, answer: GateAnswer
    ) -> DealPurchase:
        if answer.outcome is Outcome.LIMIT_REACHED:
            # After a restart the gate knows the claim but not the key: a retry finds its hold.
            memory = self._gate
            if not (
                isinstance(memory, MemoryDealGate) and memory.knows_every_key(terms.id, buyer_id)
            ):
                existing = await find_purchase(self._db, buyer_id, key)
                if existing is not None:
                    return existing
            raise LimitReached(
                f"You can buy at most {terms.per_shopper_limit} in this deal; "
                f"you already have {answer.bought_before}"
            )
        if answer.outcome is Outcome.UNKNOWN_DEAL:
            raise DealClosed("This deal has ended")
        raise _sold_out(answer)

    async def _write_win(
        self, terms: DealTerms, buyer_id: int, quantity: int, key: str, answer: GateAnswer
    ) -> DealPurchase:
        # A caller that goes away does not cancel the write: the order exists either way.
        return await asyncio.shield(
            self._winners.write(terms, buyer_id, quantity, key, answer.bought_before)
        )

    async def _answer_again(
        self, terms: DealTerms, buyer_id: int, quantity: int, key: str
    ) -> DealPurchase:
        known = self._winners.known(buyer_id, key)
        if isinstance(known, DealPurchase):
            return known
        if known is not None:
            return await asyncio.shield(known)
        # Won here earlier, or on another instance whose write may still be in flight.
        for delay in self._write_waits:
            await asyncio.sleep(delay)
            found = await find_purchase(self._db, buyer_id, key)
            if found is not None:
                return found
        # The instance that won this tap died before writing it (the gate in Redis outlived
        # it): give the claim back and decide the tap again, rather than "still being
        # recorded" forever. Should that write land after all, the database's guards
        # (claimed <= quantity, one hold per key) still hold.
        log.warning("deal %d: a won tap was never written; deciding it again", terms.id)
        await self._gate.give_back(terms.id, buyer_id, quantity, key)
        answer = await self._gate.claim(terms.id, buyer_id, quantity, terms.per_shopper_limit, key)
        if answer.outcome is Outcome.WON and not answer.repeat:
            return await self._write_win(terms, buyer_id, quantity, key, answer)
        if answer.outcome is Outcome.WON:
            raise Unavailable("Your purchase is still being recorded; please try again in a moment")
        return await self._refuse(terms, buyer_id, key, answer)

    async def order_for_hold(self, actor: Actor, hold_id: int) -> int:
        """The order of a won hold, created the first time the shopper goes on to pay."""
        return await order_for_hold(self._db, actor, hold_id)

    async def aclose(self) -> None:
        """Finish writing the winners already decided (call at shutdown)."""
        await self._winners.aclose()

    # -- reading ------------------------------------------------------------------------

    async def deal_state(self, deal_id: int) -> DealState:
        """A deal as a viewer's card shows it, from the database."""
        terms = await self._terms_for(deal_id, open_gate=False)
        async with self._db.read() as session:
            deal = await session.get(Deal, deal_id)
            assert deal is not None
        ended = deal.status == DealStatus.ENDED
        return terms.state(0 if ended else deal.quantity - deal.claimed, ended=ended)

    async def _terms_for(
        self, deal_id: int, *, reload: bool = False, open_gate: bool = True
    ) -> DealTerms:
        if not reload and deal_id in self._terms:
            return self._terms[deal_id]
        async with self._db.read() as session:
            found = await session.execute(
                select(Deal, Product, Variant, Merchant)
                .join(Product, Product.id == Deal.product_id)
                .join(Variant, Variant.id == Deal.variant_id)
                .join(Merchant, Merchant.id == Deal.merchant_id)
                .where(Deal.id == deal_id)
            )
            row = found.one_or_none()
            if row is None:
                raise NotFound("This deal does not exist")
            deal, product, variant, merchant = row
            terms = terms_of(deal, product, variant, merchant)
            bought: dict[int, int] = {}
            if open_gate and deal.status == DealStatus.LIVE:
                claims = await session.execute(
                    select(DealClaim.buyer_id, DealClaim.quantity).where(
                        DealClaim.deal_id == deal_id
                    )
                )
                bought = {buyer: quantity for buyer, quantity in claims}
        self._terms[deal_id] = terms
        if open_gate and deal.status == DealStatus.LIVE:
            await self._open_gate(terms, remaining=deal.quantity - deal.claimed, bought=bought)
        return terms

    async def _open_gate(self, terms: DealTerms, *, remaining: int, bought: dict[int, int]) -> None:
        # Answers are kept an hour past the end, so a late retry still gets its own answer.
        await self._winners.warm_up()
        keep = terms.ends_at + timedelta(hours=1) - self._clock()
        await self._gate.open(
            terms.id,
            remaining=remaining,
            bought=bought,
            ttl_ms=max(1_000, int(keep.total_seconds() * 1000)),
        )


def _check_deal_input(
    deal_price: int, quantity: int, duration_s: int, per_shopper_limit: int
) -> None:
    errors: dict[str, str] = {}
    if deal_price < 0:
        errors["deal_price"] = "The deal price cannot be negative"
    if quantity < 1:
        errors["quantity"] = "A deal needs at least 1 unit"
    if not MIN_DURATION_S <= duration_s <= MAX_DURATION_S:
        errors["duration_s"] = "A deal lasts from 10 seconds to 60 minutes"
    if per_shopper_limit < 1:
        errors["per_shopper_limit"] = "Allow at least 1 per shopper"
    if errors:
        raise ValidationFailed(errors)


async def _require_host(tx: Tx, actor: Actor, show: Show) -> None:
    if actor.manages(show.merchant_id):
        return
    if actor.user_id is not None:
        hosting = await tx.session.get(ShowHost, (show.id, actor.user_id))
        if hosting is not None:
            return
    raise NotAllowed("Only this show's hosts and the brand's staff can run deals")


async def _deal_variant(
    tx: Tx, merchant_id: int, variant_id: int | None, product_id: int | None
) -> tuple[Variant, Product]:
    if variant_id is not None:
        variant = await tx.session.get(Variant, variant_id)
        if variant is None or variant.merchant_id != merchant_id:
            raise NotFound("This product is not sold by this show's brand")
        product = await tx.session.get(Product, variant.product_id)
        assert product is not None
    elif product_id is not None:
        product = await tx.session.get(Product, product_id)
        if product is None or product.merchant_id != merchant_id:
            raise NotFound("This product is not sold by this show's brand")
        variants = list(
            (await tx.session.execute(select(Variant).where(Variant.product_id == product_id)))
            .scalars()
            .all()
        )
        if len(variants) != 1:
            raise ValidationFailed(
                {"variant_id": "Choose which variant (size, colour…) the deal is for"}
            )
        variant = variants[0]
    else:
        raise ValidationFailed({"variant_id": "Choose the product the deal is for"})
    if product.status != ProductStatus.ACTIVE:
        raise ValidationFailed({"variant_id": f"{product.title} is not on sale"})
    return variant, product


def _check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            {"idempotency_key": f"Send a key of 1 to {MAX_KEY_LENGTH} characters with each tap"}
        )
    return key


def _ago(elapsed: timedelta) -> str:
    seconds = elapsed.total_seconds()
    if seconds < 60:
        return f"{max(1, math.floor(seconds))} s"
    if seconds < 3600:
        return f"{math.floor(seconds / 60)} min"
    return f"{math.floor(seconds / 3600)} h"


def _sold_out(answer: GateAnswer) -> SoldOut:
    if answer.remaining > 0:
        return SoldOut(f"Only {answer.remaining} left in this deal")
    return SoldOut("Sold out")
