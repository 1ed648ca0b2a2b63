"""How the buying side tells viewers what changed. The app wires an `Announcer` to the live
channel; commerce calls it only after the transaction that made the change has committed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class DealState:
    """What a viewer's deal card shows: price, units left, countdown end, and whether it is
    still open (`status` is "live", "sold_out" or "ended")."""

    deal_id: int
    show_id: int
    product_id: int
    variant_id: int
    deal_price: int
    currency: str
    quantity: int
    remaining: int
    per_shopper_limit: int
    ends_at: datetime
    status: str


class Announcer(Protocol):
    async def stock_changed(self, show_id: int | None, variant_id: int, stock_left: int) -> None:
        """A variant's regular stock changed. `show_id` is the show the change came from, or
        None when it did not come from a show (the app may fan out to every live show that
        has the product in its lineup)."""
        ...

    async def deal_updated(self, state: DealState) -> None:
        """A deal started, sold units, sold out or ended."""
        ...


class SilentAnnouncer:
    """Announces nothing: for scripts and tests that do not watch."""

    async def stock_changed(self, show_id: int | None, variant_id: int, stock_left: int) -> None:
        return None

    async def deal_updated(self, state: DealState) -> None:
        return None


@dataclass
class RecordingAnnouncer:
    """Keeps every announcement, in order: for tests and benchmarks."""

    stock: list[tuple[int | None, int, int]] = field(default_factory=list)
    deals: list[DealState] = field(default_factory=list)

    async def stock_changed(self, show_id: int | None, variant_id: int, stock_left: int) -> None:
        self.stock.append((show_id, variant_id, stock_left))

    async def deal_updated(self, state: DealState) -> None:
        self.deals.append(state)
