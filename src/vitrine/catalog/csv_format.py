"""The catalog CSV file (documented in docs/catalog.md): reading it into rows a person can find
in their spreadsheet, checking each row, and writing a merchant's catalog back out.

One row is one SKU; rows sharing a `product_handle` are the variants of one product. Row
numbers count the header as row 1, as a spreadsheet shows them."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from vitrine.catalog import rules
from vitrine.catalog.models import ProductStatus
from vitrine.catalog.rules import Invalid
from vitrine.catalog.views import ProductView
from vitrine.core.errors import ValidationFailed
from vitrine.core.money import minor_digits, parse_amount

MAX_ROWS = 10_000
MAX_FILE_BYTES = 50 * 1024 * 1024
OPTION_COLUMNS = (
    ("option1_name", "option1_value"),
    ("option2_name", "option2_value"),
    ("option3_name", "option3_value"),
)
COLUMNS = (
    "product_handle",
    "sku",
    "title",
    "description",
    "status",
    "currency",
    "price",
    "compare_at_price",
    "stock",
    *(column for pair in OPTION_COLUMNS for column in pair),
    "external_url",
    "category",
)
REQUIRED_COLUMNS = ("product_handle", "sku", "title", "currency", "price")
# Columns describing the product rather than the SKU: rows of one product must agree on them.
PRODUCT_COLUMNS = ("title", "description", "status", "currency", "external_url", "category")
_EXTRA = "\0extra"  # a key no header has: the row has more cells than the header
_T = TypeVar("_T")
_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")  # 1,299.00
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(frozen=True, slots=True)
class Table:
    """The file's columns and its non-blank rows, each with its spreadsheet row number."""

    columns: frozenset[str]
    rows: list[tuple[int, dict[str, str]]]
    decimal_comma: bool = False  # semicolon-separated files write 19,99


@dataclass(frozen=True, slots=True)
class ParsedRow:
    """One checked row. Product fields are None when the cell is empty or the column absent."""

    row: int
    handle: str
    sku: str
    product: dict[str, str]  # the non-empty product cells, cleaned
    status: ProductStatus | None
    price: int
    compare_at_price: int | None
    stock: int | None  # None: column absent or cell empty
    options: dict[str, str] | None  # None: no option columns in the file


def read_table(data: bytes) -> Table:
    """Decode and split the file, refusing up front what cannot be imported at all."""
    if len(data) > MAX_FILE_BYTES:
        raise _file_error(
            f"the file is {len(data) // (1024 * 1024)} MB; the limit is "
            f"{MAX_FILE_BYTES // (1024 * 1024)} MB — split it into several files"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _file_error(
            f"the file is not UTF-8 text (byte {error.start + 1} cannot be read); in your "
            "spreadsheet choose Save as → 'CSV UTF-8' and import that file"
        ) from None
    if "\0" in text:
        raise _file_error("this is not a CSV text file; export your sheet as CSV UTF-8")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    records: list[list[str]] = []
    filled = 0  # records that are not blank lines
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for record in reader:
            records.append(record)
            if any(cell.strip() for cell in record):
                filled += 1
                if filled > MAX_ROWS + 1 + 1000:  # far too many: stop reading, refuse below
                    break
    except csv.Error as error:
        raise _file_error(
            f"row {len(records) + 1} cannot be read as CSV ({error}); check its quotes"
        ) from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise _file_error(
            "the file is empty; its first line must be the header: " + ",".join(COLUMNS)
        )
    header = [cell.strip().lower() for cell in records[0]]
    _check_header(header)
    rows: list[tuple[int, dict[str, str]]] = []
    for index, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        rows.append((index, _row_cells(header, record)))
    if len(rows) > MAX_ROWS:
        count = sum(1 for record in records[1:] if any(cell.strip() for cell in record))
        more = "" if count <= MAX_ROWS + 1000 else " or more"
        raise _file_error(
            f"the file has {count:,}{more} rows; one import takes {MAX_ROWS:,} at most — "
            "split it into several files"
        )
    if not rows:
        raise _file_error("the file has a header but no product rows")
    return Table(columns=frozenset(header), rows=rows, decimal_comma=delimiter == ";")


def _check_header(header: list[str]) -> None:
    problems: list[str] = []
    unknown = [column for column in header if column not in COLUMNS]
    if unknown:
        names = ", ".join(f"'{column}'" for column in unknown)
        problems.append(
            f"unknown column{'s' if len(unknown) > 1 else ''} {names} "
            f"(the columns are {', '.join(COLUMNS)})"
        )
    twice = sorted({column for column in header if column and header.count(column) > 1})
    if twice:
        problems.append("column " + ", ".join(f"'{c}'" for c in twice) + " appears twice")
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        problems.append("missing column" + ("s " if len(missing) > 1 else " ") + ", ".join(missing))
    if problems:
        raise _file_error("the header is not right: " + "; ".join(problems))


def _row_cells(header: list[str], record: list[str]) -> dict[str, str]:
    cells = {column: _unescape(value) for column, value in zip(header, record, strict=False)}
    if len(record) > len(header):
        extra = [value for value in record[len(header) :] if value.strip()]
        if extra:
            cells[_EXTRA] = str(len(record))
    return cells


def parse_row(
    number: int,
    cells: Mapping[str, str],
    columns: frozenset[str],
    currency: str | None,
    *,
    decimal_comma: bool = False,
) -> tuple[ParsedRow | None, list[RowError]]:
    """Check one row. `currency` is the product's (from any of its rows, or the stored
    product); prices cannot be read without it."""
    errors: list[RowError] = []

    def check(column: str, clean: Callable[[str], _T]) -> _T | None:
        try:
            return clean(cells.get(column, ""))
        except Invalid as error:
            errors.append(RowError(number, column, error.message))
            return None

    if _EXTRA in cells:
        errors.append(
            RowError(
                number,
                "",
                f"this row has {cells[_EXTRA]} cells but the header has {len(columns)}; "
                "check for a stray comma or quote",
            )
        )
    handle = check("product_handle", rules.clean_handle)
    sku = check("sku", rules.clean_sku)
    product: dict[str, str] = {}
    cleaners = {
        "title": rules.clean_title,
        "description": rules.clean_description,
        "currency": rules.clean_currency,
        "external_url": rules.clean_external_url,
        "category": rules.clean_category,
    }
    for column, clean in cleaners.items():
        if cells.get(column, "").strip():
            value = check(column, clean)
            if value is not None:
                product[column] = value
    status = None
    if cells.get("status", "").strip():
        status = check("status", rules.clean_status)

    price = compare_at = None
    if currency is None:
        if not cells.get("currency", "").strip():
            errors.append(
                RowError(
                    number,
                    "currency",
                    "is required; use an ISO 4217 code such as EUR, USD or GBP on the "
                    "product's first row",
                )
            )
    else:
        price = _amount(
            number, "price", cells.get("price", ""), currency, errors, decimal_comma, required=True
        )
        compare_at = _amount(
            number,
            "compare_at_price",
            cells.get("compare_at_price", ""),
            currency,
            errors,
            decimal_comma,
        )
        if price is not None and compare_at is not None:
            try:
                rules.check_compare_at(compare_at, price, currency)
            except Invalid as error:
                errors.append(RowError(number, "compare_at_price", error.message))
    stock = _stock(number, cells.get("stock", ""), errors)
    options = _options(number, cells, columns, errors)
    if errors or handle is None or sku is None or price is None:
        return None, errors
    return (
        ParsedRow(
            row=number,
            handle=handle,
            sku=sku,
            product=product,
            status=status,
            price=price,
            compare_at_price=compare_at,
            stock=stock,
            options=options,
        ),
        errors,
    )


def _amount(
    number: int,
    column: str,
    text: str,
    currency: str,
    errors: list[RowError],
    decimal_comma: bool,
    *,
    required: bool = False,
) -> int | None:
    if not text.strip():
        if required:
            errors.append(RowError(number, column, "is required; write a price like 19.99"))
        return None
    if decimal_comma and "," in text:  # 1.234,56 -> 1234.56
        text = text.replace(".", "").replace(",", ".")
    elif "," in text and not _GROUPED.match(text.strip()):
        # "19,99" is a decimal comma, which core.money would read as 1,999
        errors.append(
            RowError(number, column, f"'{text}' is not a price; write it with a point, like 19.99")
        )
        return None
    try:
        return rules.check_price(parse_amount(text, currency, field=column), currency)
    except ValidationFailed as error:
        errors.append(RowError(number, column, error.errors[column]))
    except Invalid as error:
        errors.append(RowError(number, column, error.message))
    except ArithmeticError:  # "NaN", "Infinity"
        errors.append(
            RowError(number, column, f"'{text}' is not a number; write a price like 19.99")
        )
    return None


def _stock(number: int, text: str, errors: list[RowError]) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isascii() or not text.lstrip("-").isdigit():
        errors.append(
            RowError(number, "stock", f"'{text}' is not a whole number; write how many, like 12")
        )
        return None
    try:
        return rules.check_stock(int(text))
    except Invalid as error:
        errors.append(RowError(number, "stock", error.message))
        return None


def _options(
    number: int, cells: Mapping[str, str], columns: frozenset[str], errors: list[RowError]
) -> dict[str, str] | None:
    if not any(name in columns or value in columns for name, value in OPTION_COLUMNS):
        return None
    options: dict[str, str] = {}
    for name_column, value_column in OPTION_COLUMNS:
        name = " ".join(cells.get(name_column, "").split())
        value = " ".join(cells.get(value_column, "").split())
        if not name and not value:
            continue
        if not name:
            errors.append(
                RowError(
                    number,
                    name_column,
                    f"is empty but {value_column} is '{value}'; name the option, like Size",
                )
            )
            continue
        if not value:
            errors.append(
                RowError(
                    number,
                    value_column,
                    f"is empty but {name_column} is '{name}'; give the value, like M",
                )
            )
            continue
        if name.casefold() in (known.casefold() for known in options):
            errors.append(RowError(number, name_column, f"option '{name}' is given twice"))
            continue
        try:
            options.update(rules.clean_options({name: value}))
        except Invalid as error:
            errors.append(RowError(number, name_column, error.message))
    return options


def write_catalog(products: Iterable[ProductView]) -> bytes:
    """The merchant's catalog as a CSV file the import reads back unchanged (UTF-8 with a
    byte-order mark so spreadsheets pick the right encoding)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for product in products:
        for variant in product.variants:
            options = list(variant.options.items())[: len(OPTION_COLUMNS)]
            option_cells: list[str] = []
            for index in range(len(OPTION_COLUMNS)):
                name, value = options[index] if index < len(options) else ("", "")
                option_cells += [_escape(name), _escape(value)]
            writer.writerow(
                [
                    product.handle,
                    variant.sku,
                    _escape(product.title),
                    _escape(product.description),
                    product.status.value,
                    product.currency,
                    format_price(variant.price, product.currency),
                    ""
                    if variant.compare_at_price is None
                    else format_price(variant.compare_at_price, product.currency),
                    str(variant.stock),
                    *option_cells,
                    _escape(product.external_url),
                    _escape(product.category),
                ]
            )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def format_price(amount: int, currency: str) -> str:
    """Minor units as the decimal a person types: 1999 EUR -> "19.99", 1500 JPY -> "1500"."""
    digits = minor_digits(currency)
    return f"{Decimal(amount).scaleb(-digits):.{digits}f}"


def _escape(text: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe (shown as text)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _unescape(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_START) else text


def _file_error(message: str) -> ValidationFailed:
    return ValidationFailed({"file": message})
