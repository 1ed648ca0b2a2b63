"""Shoppers tapping a deal's Buy as the page's script does: one idempotency key per tap, the
same key again when the answer got lost (nginx's 502 when an instance died, a 503), then
paying for what they won."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.api.shop_helpers import ADDRESS
from tests.cluster.people import Person
from vitrine.commerce.gateway import TestCards

PAYMENT = {**ADDRESS, "card_number": TestCards.SUCCEEDS}  # the pay form, with a card that pays
RETRIED = (502, 503, 504)
TRIES = 8  # then the shopper gives up, as a person would


@dataclass
class Tap:
    """What one shopper was told."""

    email: str
    answers: list[int] = field(default_factory=list)  # every status received, retries too
    won: dict[str, Any] | None = None  # the 201 answer
    paid: dict[str, Any] | None = None  # the payment answer that said "paid"


async def _retrying(send: Callable[[], Any]) -> tuple[httpx.Response | None, list[int]]:
    """Send until an answer that is not "try again"; None when every try failed."""
    statuses: list[int] = []
    for _ in range(TRIES):
        try:
            answer: httpx.Response = await send()
        except httpx.TransportError:
            statuses.append(0)
        else:
            statuses.append(answer.status_code)
            if answer.status_code not in RETRIED:
                return answer, statuses
        await asyncio.sleep(0.25)
    return None, statuses


async def buy_and_pay(
    shopper: Person, deal_id: int, *, answered: Callable[[], None], log_in: bool = True
) -> Tap:
    """Log in (unless done already), tap Buy once (retrying the same key), and pay for a win."""
    tap = Tap(shopper.email)
    if log_in:
        await shopper.log_in()
    key = f"tap-{shopper.email}"
    answer, statuses = await _retrying(
        lambda: shopper.act(f"/deals/{deal_id}/buy", {"idempotency_key": key})
    )
    tap.answers += statuses
    answered()
    if answer is None or answer.status_code != 201:
        return tap
    tap.won = answer.json()
    paid, statuses = await _retrying(lambda: shopper.act(tap.won["pay_url"], PAYMENT))
    tap.answers += statuses
    if paid is not None and paid.status_code == 200 and paid.json()["order_status"] == "paid":
        tap.paid = paid.json()
    return tap


async def start_deal(
    host: Person, show_id: int, product_id: int, *, quantity: int, base: str = ""
) -> int:
    """The host starts a two-minute deal at 19.00, one per shopper (on instance `base`, or
    through nginx)."""
    started = await host.act(
        f"{base}/studio/{show_id}/deals",
        {
            "product_id": product_id,
            "deal_price": "19.00",
            "quantity": quantity,
            "duration_s": 120,
            "per_shopper_limit": 1,
        },
    )
    assert started.status_code == 200, started.text
    deal_id: int = started.json()["deal_id"]
    return deal_id
