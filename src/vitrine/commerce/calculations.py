"""Order totals: goods, the merchant's flat shipping, tax as the merchant's percentage of the
goods. Integer minor units throughout; tax is rounded half to even."""

from __future__ import annotations

from dataclasses import dataclass

from vitrine.core.money import Money


@dataclass(frozen=True, slots=True)
class Totals:
    currency: str
    subtotal: int
    shipping: int
    tax: int

    @property
    def total(self) -> int:
        return self.subtotal + self.shipping + self.tax


def order_totals(subtotal: int, *, shipping_flat: int, tax_bps: int, currency: str) -> Totals:
    """Tax applies to the goods only; shipping is one flat amount per order."""
    tax = Money(subtotal, currency).share(tax_bps).amount
    return Totals(currency, subtotal, shipping_flat, tax)


def commission_split(total: int, commission_bps: int, currency: str) -> tuple[int, int]:
    """(platform commission, merchant payable) of what the shopper paid."""
    commission = Money(total, currency).share(commission_bps).amount
    return commission, total - commission
