"""The catalog's rules for each value, shared by the forms, the API and the CSV import.

Each `clean_*` returns the value as stored or raises `Invalid` with a message a merchant can
act on; `check_product` applies them all and names every bad field at once."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import TypeVar
from urllib.parse import urlsplit

from vitrine.catalog.drafts import ProductDraft, VariantDraft
from vitrine.catalog.models import ProductStatus
from vitrine.core.errors import ValidationFailed
from vitrine.core.money import check_currency, format_amount

MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_CATEGORY = 60
MAX_URL = 500
MAX_HANDLE = 100
MAX_SKU = 64
MAX_OPTIONS = 3
MAX_OPTION_NAME = 30
MAX_OPTION_VALUE = 60
MAX_VARIANTS = 100
# Prices and stock are 32-bit integers in the database.
MAX_PRICE = 2_000_000_000
MAX_STOCK = 1_000_000_000

_HANDLE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_T = TypeVar("_T")
_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/#+-]*$")


class Invalid(ValueError):
    """One value refused; the message says what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def clean_title(text: str) -> str:
    title = " ".join(text.split())
    if not title:
        raise Invalid("is required; give the product a name")
    if len(title) > MAX_TITLE:
        raise Invalid(f"is {len(title)} characters long; shorten it to {MAX_TITLE} at most")
    return title


def clean_description(text: str) -> str:
    description = text.strip()
    if len(description) > MAX_DESCRIPTION:
        raise Invalid(
            f"is {len(description):,} characters long; shorten it to {MAX_DESCRIPTION:,} at most"
        )
    return description


def clean_status(text: str) -> ProductStatus:
    value = text.strip().lower()
    try:
        return ProductStatus(value)
    except ValueError:
        raise Invalid(f"'{text}' is not a status; use draft, active or archived") from None


def clean_currency(text: str) -> str:
    if not text.strip():
        raise Invalid("is required; use an ISO 4217 code such as EUR, USD or GBP")
    try:
        return check_currency(text)
    except ValidationFailed as error:
        raise Invalid(error.errors["currency"]) from None


def clean_external_url(text: str) -> str:
    url = text.strip()
    if not url:
        return ""
    if len(url) > MAX_URL:
        raise Invalid(f"is {len(url)} characters long; the most is {MAX_URL}")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in url:
        raise Invalid(
            f"'{url}' is not a web address; write it in full, like https://shop.example.com/tee"
        )
    return url


def clean_category(text: str) -> str:
    category = " ".join(text.split())
    if len(category) > MAX_CATEGORY:
        raise Invalid(f"is {len(category)} characters long; shorten it to {MAX_CATEGORY} at most")
    return category


def clean_handle(text: str) -> str:
    handle = text.strip()
    if not handle:
        raise Invalid("is required; rows sharing a handle are one product — write one like red-tee")
    if len(handle) > MAX_HANDLE or not _HANDLE.match(handle):
        raise Invalid(
            f"'{handle}' is not a handle; use lower-case letters, digits and single hyphens "
            f"(like red-tee), {MAX_HANDLE} characters at most"
        )
    return handle


def clean_sku(text: str) -> str:
    sku = text.strip()
    if not sku:
        raise Invalid("is required; give each variant its own stock-keeping code, like TS-RED-M")
    if len(sku) > MAX_SKU:
        raise Invalid(f"'{sku}' is {len(sku)} characters long; the most is {MAX_SKU}")
    if not _SKU.match(sku):
        raise Invalid(
            f"'{sku}' has characters a SKU cannot have; use letters, digits and . _ / # + -, "
            "starting with a letter or digit"
        )
    return sku


def check_price(amount: int, currency: str | None) -> int:
    if amount < 0:
        raise Invalid("must not be negative")
    if amount > MAX_PRICE:
        most = format_amount(MAX_PRICE, currency) if currency else f"{MAX_PRICE:,} minor units"
        raise Invalid(f"is too large; the most is {most}")
    return amount


def check_compare_at(compare_at: int | None, price: int, currency: str | None) -> int | None:
    """The former price shown struck through: optional, and above the price when given."""
    if compare_at is None:
        return None
    check_price(compare_at, currency)
    if compare_at <= price:
        shown = format_amount(price, currency) if currency else f"{price} minor units"
        raise Invalid(
            f"must be greater than the price ({shown}); leave it empty if there is no reduction"
        )
    return compare_at


def check_stock(stock: int) -> int:
    if stock < 0:
        raise Invalid("must be 0 or more")
    if stock > MAX_STOCK:
        raise Invalid(f"is too large; the most is {MAX_STOCK:,}")
    return stock


def clean_options(options: Mapping[str, str]) -> dict[str, str]:
    """Options such as {"Size": "M", "Colour": "Red"}: up to three, names and values filled."""
    if len(options) > MAX_OPTIONS:
        raise Invalid(f"has {len(options)} options; a variant has {MAX_OPTIONS} at most")
    cleaned: dict[str, str] = {}
    for raw_name, raw_value in options.items():
        name = " ".join(raw_name.split())
        value = " ".join(raw_value.split())
        if not name:
            raise Invalid(f"the option with value '{value}' has no name; name it, like Size")
        if not value:
            raise Invalid(f"option '{name}' has no value; fill it in, like M")
        if len(name) > MAX_OPTION_NAME:
            raise Invalid(f"option name '{name}' is longer than {MAX_OPTION_NAME} characters")
        if len(value) > MAX_OPTION_VALUE:
            raise Invalid(f"option '{name}' has a value longer than {MAX_OPTION_VALUE} characters")
        if name.casefold() in (known.casefold() for known in cleaned):
            raise Invalid(f"option '{name}' is given twice")
        cleaned[name] = value
    return cleaned


def slugify(title: str) -> str:
    """A handle made from a title: "Red Tee (organic)" -> "red-tee-organic"."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[: MAX_HANDLE - 10].strip("-") or "product"


def check_product(draft: ProductDraft) -> ProductDraft:
    """The draft as it will be stored, or ValidationFailed naming every bad field."""
    errors: dict[str, str] = {}

    title = _take(errors, "title", clean_title, draft.title)
    description = _take(errors, "description", clean_description, draft.description)
    status = _take(errors, "status", clean_status, draft.status)
    currency = _take(errors, "currency", clean_currency, draft.currency)
    external_url = _take(errors, "external_url", clean_external_url, draft.external_url)
    category = _take(errors, "category", clean_category, draft.category)
    handle = ""
    if draft.handle.strip():
        handle = _take(errors, "handle", clean_handle, draft.handle) or ""

    if not draft.variants:
        errors["variants"] = "add at least one variant with its SKU, price and stock"
    elif len(draft.variants) > MAX_VARIANTS:
        errors["variants"] = f"a product has {MAX_VARIANTS} variants at most"
    variants: list[VariantDraft] = []
    first_row_of_sku: dict[str, int] = {}
    for index, variant in enumerate(draft.variants):
        variant_errors, cleaned = _check_variant(variant, currency)
        for name, message in variant_errors.items():
            errors[f"variants[{index}].{name}"] = message
        if cleaned is None:
            continue
        key = cleaned.sku.casefold()
        if key in first_row_of_sku:
            errors[f"variants[{index}].sku"] = (
                f"SKU '{cleaned.sku}' is already used by variant {first_row_of_sku[key] + 1} "
                "of this product; choose another"
            )
            continue
        first_row_of_sku[key] = index
        variants.append(cleaned)

    if errors:
        raise ValidationFailed(errors)
    assert title is not None and status is not None and currency is not None
    return ProductDraft(
        title=title,
        currency=currency,
        variants=variants,
        description=description or "",
        status=status.value,
        external_url=external_url or "",
        category=category or "",
        handle=handle,
    )


def _check_variant(
    variant: VariantDraft, currency: str | None
) -> tuple[dict[str, str], VariantDraft | None]:
    errors: dict[str, str] = {}
    sku = options = price = compare_at = stock = None
    try:
        sku = clean_sku(variant.sku)
    except Invalid as error:
        errors["sku"] = error.message
    try:
        price = check_price(variant.price, currency)
    except Invalid as error:
        errors["price"] = error.message
    if price is not None:
        try:
            compare_at = check_compare_at(variant.compare_at_price, price, currency)
        except Invalid as error:
            errors["compare_at_price"] = error.message
    try:
        stock = check_stock(variant.stock)
    except Invalid as error:
        errors["stock"] = error.message
    try:
        options = clean_options(variant.options)
    except Invalid as error:
        errors["options"] = error.message
    if errors or sku is None or price is None or stock is None or options is None:
        return errors, None
    return errors, VariantDraft(
        sku=sku,
        price=price,
        compare_at_price=compare_at,
        stock=stock,
        options=options,
        id=variant.id,
        stock_seen=variant.stock_seen,
    )


def _take(errors: dict[str, str], field: str, clean: Callable[[str], _T], text: str) -> _T | None:
    """Clean one value, recording its error under `field` instead of raising."""
    try:
        return clean(text)
    except Invalid as error:
        errors[field] = error.message
        return None
