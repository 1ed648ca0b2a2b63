"""Money is an integer amount of minor units plus an ISO 4217 currency, never a float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from vitrine.core.errors import ValidationFailed

# Active ISO 4217 codes. Most have two minor digits; the exceptions are listed below.
_ISO_4217 = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
    ]
)
_ZERO_DIGITS = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
_THREE_DIGITS = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])


def check_currency(code: str, *, field: str = "currency") -> str:
    """Return the upper-cased ISO 4217 code, or refuse it naming the field."""
    upper = code.strip().upper()
    if upper not in _ISO_4217:
        raise ValidationFailed(
            {field: f"'{code}' is not an ISO 4217 currency code; use one such as EUR, USD or GBP"}
        )
    return upper


def minor_digits(currency: str) -> int:
    if currency in _ZERO_DIGITS:
        return 0
    if currency in _THREE_DIGITS:
        return 3
    return 2


@dataclass(frozen=True, slots=True)
class Money:
    amount: int  # minor units
    currency: str

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)

    def times(self, quantity: int) -> Money:
        return Money(self.amount * quantity, self.currency)

    def share(self, basis_points: int) -> Money:
        """A percentage in basis points (1 % = 100), rounded half to even to the minor unit."""
        exact = Decimal(self.amount) * basis_points / 10_000
        return Money(int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)), self.currency)

    def format(self) -> str:
        digits = minor_digits(self.currency)
        if digits == 0:
            return f"{self.amount:,} {self.currency}"
        major = Decimal(self.amount).scaleb(-digits)
        return f"{major:,.{digits}f} {self.currency}"


_PLAIN = re.compile(r"^\d+(\.\d+)?$")
_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


def parse_amount(text: str, currency: str, *, field: str) -> int:
    """Read a price typed by a person ("19.99", "1,250.00", "19") into minor units."""
    typed = text.strip()
    if typed.startswith("-"):
        raise ValidationFailed({field: "must not be negative"})
    if _GROUPED.match(typed):
        typed = typed.replace(",", "")
    elif "," in typed and _PLAIN.match(typed.replace(",", ".")):
        raise ValidationFailed({field: f"'{text}': use a dot for decimals, like 19.99"})
    if not _PLAIN.match(typed):
        raise ValidationFailed({field: f"'{text}' is not a number; write a price like 19.99"})
    digits = minor_digits(currency)
    scaled = Decimal(typed).scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise ValidationFailed({field: f"{currency} has {digits} decimal places at most"})
    if scaled > 10**12:
        raise ValidationFailed({field: "is too large"})
    return int(scaled)


def format_amount(amount: int, currency: str) -> str:
    return Money(amount, currency).format()
