import pytest

from vitrine.core.errors import ValidationFailed
from vitrine.core.money import Money, check_currency, format_amount, parse_amount


def test_prices_typed_by_people_become_minor_units() -> None:
    assert parse_amount("19.99", "EUR", field="price") == 1999
    assert parse_amount("1,250", "JPY", field="price") == 1250
    assert parse_amount("1,250.50", "USD", field="price") == 125050
    assert parse_amount("2.5", "KWD", field="price") == 2500


def test_prices_that_do_not_fit_the_currency_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_amount("19.999", "EUR", field="price")
    assert refused.value.errors == {"price": "EUR has 2 decimal places at most"}
    with pytest.raises(ValidationFailed) as refused:
        parse_amount("-1", "EUR", field="price")
    assert refused.value.errors == {"price": "must not be negative"}
    for text in ("abc", "NaN", "Infinity", "1e3", ""):
        with pytest.raises(ValidationFailed) as refused:
            parse_amount(text, "EUR", field="price")
        assert refused.value.errors == {
            "price": f"'{text}' is not a number; write a price like 19.99"
        }
    with pytest.raises(ValidationFailed) as refused:
        parse_amount("19,99", "EUR", field="price")
    assert refused.value.errors == {"price": "'19,99': use a dot for decimals, like 19.99"}


def test_unknown_currencies_are_refused() -> None:
    assert check_currency(" usd ") == "USD"
    with pytest.raises(ValidationFailed) as refused:
        check_currency("EURO")
    assert refused.value.errors == {
        "currency": "'EURO' is not an ISO 4217 currency code; use one such as EUR, USD or GBP"
    }


def test_commission_shares_round_half_to_even() -> None:
    assert Money(1005, "EUR").share(1000) == Money(100, "EUR")  # 100.5 → 100
    assert Money(1015, "EUR").share(1000) == Money(102, "EUR")  # 101.5 → 102
    assert format_amount(123456, "EUR") == "1,234.56 EUR"
    assert format_amount(1500, "JPY") == "1,500 JPY"
