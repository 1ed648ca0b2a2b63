from __future__ import annotations

import pytest

from vitrine.catalog.csv_format import format_price, parse_row, read_table
from vitrine.catalog.rules import Invalid, clean_external_url, clean_options, slugify
from vitrine.core.errors import ValidationFailed


def row(**cells: str) -> dict[str, str]:
    base = {
        "product_handle": "tee",
        "sku": "TS-1",
        "title": "Tee",
        "currency": "EUR",
        "price": "19.99",
    }
    base.update(cells)
    return base


COLUMNS = frozenset(row())


def test_prices_are_written_with_the_currencys_decimals() -> None:
    assert [format_price(1999, "EUR"), format_price(1500, "JPY"), format_price(12345, "KWD")] == [
        "19.99",
        "1500",
        "12.345",
    ]


def test_a_price_with_too_many_decimals_or_not_a_number_names_the_column() -> None:
    parsed, errors = parse_row(2, row(price="19.999", compare_at_price="NaN"), COLUMNS, "EUR")

    assert parsed is None
    assert [(e.row, e.column, e.message) for e in errors] == [
        (2, "price", "EUR has 2 decimal places at most"),
        (2, "compare_at_price", "'NaN' is not a number; write a price like 19.99"),
    ]


def test_a_price_is_required_on_every_row() -> None:
    _, errors = parse_row(7, row(price=" "), COLUMNS, "EUR")

    assert [(e.column, e.message) for e in errors] == [
        ("price", "is required; write a price like 19.99")
    ]


def test_a_row_with_more_cells_than_the_header_is_refused() -> None:
    table = read_table(b"product_handle,sku,title,currency,price\ntee,TS-1,Tee,EUR,19,99\n")
    [(number, cells)] = table.rows

    _, errors = parse_row(number, cells, table.columns, "EUR")

    assert [(e.row, e.column, e.message) for e in errors] == [
        (2, "", "this row has 6 cells but the header has 5; check for a stray comma or quote")
    ]


def test_blank_lines_are_skipped_but_keep_the_row_numbers() -> None:
    table = read_table(b"product_handle,sku,title,currency,price\n\ntee,TS-1,Tee,EUR,1\n,,,,\n")

    assert [number for number, _ in table.rows] == [3]


def test_a_broken_quote_names_the_row() -> None:
    with pytest.raises(ValidationFailed) as refused:
        read_table(b'product_handle,sku,title,currency,price\ntee,TS-1,"Tee"x,EUR,1\n')

    assert refused.value.errors["file"].startswith("row 2 cannot be read as CSV (")


def test_a_binary_file_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        read_table(b"product_handle,sku\x00\x00")

    assert refused.value.errors == {
        "file": "this is not a CSV text file; export your sheet as CSV UTF-8"
    }


def test_only_web_addresses_are_accepted_as_external_urls() -> None:
    assert clean_external_url(" https://acme.example/tee?ref=live ") == (
        "https://acme.example/tee?ref=live"
    )
    for bad in ("ftp://acme.example/tee", "acme.example/tee", "https://", "data:text/html,x"):
        with pytest.raises(Invalid):
            clean_external_url(bad)


def test_options_need_a_name_and_a_value() -> None:
    assert clean_options({" Size ": " M ", "Colour": "Dark  red"}) == {
        "Size": "M",
        "Colour": "Dark red",
    }
    with pytest.raises(Invalid) as no_value:
        clean_options({"Size": ""})
    assert no_value.value.message == "option 'Size' has no value; fill it in, like M"


def test_handles_are_made_from_titles() -> None:
    assert [slugify("Pull à col roulé (laine)"), slugify("!!!"), slugify("Tee  #1")] == [
        "pull-a-col-roule-laine",
        "product",
        "tee-1",
    ]


def test_a_decimal_comma_in_a_comma_separated_file_is_refused_not_misread() -> None:
    grouped, _ = parse_row(2, row(price="1,299.00"), COLUMNS, "EUR")
    _, errors = parse_row(3, row(price="19,99"), COLUMNS, "EUR")

    assert grouped is not None and grouped.price == 129900
    assert [(e.column, e.message) for e in errors] == [
        ("price", "'19,99' is not a price; write it with a point, like 19.99")
    ]


def test_blank_lines_do_not_hide_rows_from_the_row_limit() -> None:
    rows = "tee,TS-{n},Tee,EUR,1\n\n\n"
    data = "product_handle,sku,title,currency,price\n" + "".join(
        rows.format(n=n) for n in range(10_001)
    )

    with pytest.raises(ValidationFailed) as refused:
        read_table(data.encode())

    assert refused.value.errors == {
        "file": "the file has 10,001 rows; one import takes 10,000 at most — "
        "split it into several files"
    }


def test_a_far_too_long_file_is_refused_without_reading_it_all() -> None:
    data = "product_handle,sku,title,currency,price\n" + "tee,TS-1,Tee,EUR,1\n" * 50_000

    with pytest.raises(ValidationFailed) as refused:
        read_table(data.encode())

    assert refused.value.errors == {
        "file": "the file has 11,001 or more rows; one import takes 10,000 at most — "
        "split it into several files"
    }
