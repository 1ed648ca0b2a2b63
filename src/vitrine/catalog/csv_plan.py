"""What a checked CSV file changes in a merchant's catalog: the stored products and SKUs it
touches, the plan of rows to create or update (or the conflicts that forbid it), and the bulk
statements that write the plan in a few round trips."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vitrine.catalog import rules
from vitrine.catalog.csv_format import PRODUCT_COLUMNS, ParsedRow, RowError, Table
from vitrine.catalog.models import Product, ProductStatus, Variant
from vitrine.catalog.rules import Invalid
from vitrine.core.clock import utc_now
from vitrine.core.money import format_amount


@dataclass(slots=True)
class StoredProduct:
    id: int
    title: str
    currency: str
    skus: list[str] = field(default_factory=list)
    last_position: int = -1


@dataclass(frozen=True, slots=True)
class StoredVariant:
    id: int
    sku: str
    handle: str
    price: int
    compare_at_price: int | None


@dataclass(frozen=True, slots=True)
class Stored:
    products: dict[str, StoredProduct]  # by handle
    variants: dict[str, StoredVariant]  # by lower-cased SKU


async def load_stored(session: AsyncSession, merchant_id: int) -> Stored:
    products: dict[str, StoredProduct] = {}
    by_id: dict[int, str] = {}
    for product_id, handle, title, currency in await session.execute(
        select(Product.id, Product.handle, Product.title, Product.currency).where(
            Product.merchant_id == merchant_id
        )
    ):
        products[handle] = StoredProduct(id=product_id, title=title, currency=currency)
        by_id[product_id] = handle
    variants: dict[str, StoredVariant] = {}
    for variant_id, product_id, sku, price, compare_at, position in await session.execute(
        select(
            Variant.id,
            Variant.product_id,
            Variant.sku,
            Variant.price,
            Variant.compare_at_price,
            Variant.position,
        ).where(Variant.merchant_id == merchant_id)
    ):
        handle = by_id[product_id]
        variants[sku.lower()] = StoredVariant(variant_id, sku, handle, price, compare_at)
        products[handle].skus.append(sku)
        products[handle].last_position = max(products[handle].last_position, position)
    return Stored(products=products, variants=variants)


def currency_of_products(table: Table, stored: Stored) -> dict[str, str]:
    """Each product's currency: the first one its rows give, else the stored product's."""
    currencies: dict[str, str] = {}
    for _, cells in table.rows:
        handle = cells.get("product_handle", "").strip()
        text = cells.get("currency", "").strip()
        if handle in currencies or not text:
            continue
        try:
            currencies[handle] = rules.clean_currency(text)
        except Invalid:
            currencies[handle] = ""  # reported on its row; prices of the product go unread
    for handle, product in stored.products.items():
        currencies.setdefault(handle, product.currency)
    return {handle: currency for handle, currency in currencies.items() if currency}


@dataclass(slots=True)
class Plan:
    new_products: list[dict[str, Any]] = field(default_factory=list)
    product_changes: list[dict[str, Any]] = field(default_factory=list)
    new_variants: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    variant_changes: list[dict[str, Any]] = field(default_factory=list)
    created: int = 0
    updated: int = 0


def plan_import(
    rows: Sequence[ParsedRow], stored: Stored, columns: frozenset[str]
) -> tuple[Plan, list[RowError]]:
    """What the file changes: products and SKUs to create or update; or the rows in conflict
    with each other or with the stored catalog."""
    errors: list[RowError] = []
    groups: dict[str, list[ParsedRow]] = {}
    row_of_sku: dict[str, int] = {}
    for row in rows:
        key = row.sku.lower()
        if key in row_of_sku:
            errors.append(
                RowError(
                    row.row,
                    "sku",
                    f"SKU '{row.sku}' is already on row {row_of_sku[key]}; each row is one SKU",
                )
            )
            continue
        row_of_sku[key] = row.row
        owner = stored.variants.get(key)
        if owner is not None and owner.handle != row.handle:
            errors.append(
                RowError(
                    row.row,
                    "sku",
                    f"SKU '{row.sku}' belongs to product '{owner.handle}'; use product_handle "
                    f"{owner.handle} on this row or choose another SKU",
                )
            )
            continue
        groups.setdefault(row.handle, []).append(row)

    plan = Plan()
    now = utc_now()
    for handle, group in groups.items():
        values, group_errors = _agreed_product_values(handle, group)
        errors += group_errors
        existing = stored.products.get(handle)
        first = group[0].row
        if existing is None:
            if "currency" not in values:
                continue  # the row giving the currency was refused, and says why
            if "title" not in values:
                errors.append(
                    RowError(
                        first,
                        "title",
                        f"is required for the new product '{handle}'; fill it in on its first row",
                    )
                )
                continue
            plan.new_products.append(
                {
                    "merchant_id": 0,  # set by write_plan
                    "handle": handle,
                    "title": values["title"],
                    "description": values.get("description", ""),
                    "status": _status(group) or ProductStatus.DRAFT,
                    "currency": values["currency"],
                    "external_url": values.get("external_url", ""),
                    "category": values.get("category", ""),
                    "created_at": now,
                    "updated_at": now,
                }
            )
        else:
            change: dict[str, Any] = {"id": existing.id, "updated_at": now}
            for column in ("title", "currency"):
                if column in values:
                    change[column] = values[column]
            for column in ("description", "external_url", "category"):
                if column in columns:
                    change[column] = values.get(column, "")
            status = _status(group)
            if status is not None:
                change["status"] = status
            plan.product_changes.append(change)
            errors += _currency_change_errors(handle, existing, group, values)

        position = existing.last_position if existing is not None else -1
        in_file = len(group) + len(
            {sku.lower() for sku in existing.skus} - {row.sku.lower() for row in group}
            if existing is not None
            else set()
        )
        if in_file > rules.MAX_VARIANTS:
            errors.append(
                RowError(
                    group[rules.MAX_VARIANTS - 1].row
                    if len(group) >= rules.MAX_VARIANTS
                    else first,
                    "product_handle",
                    f"product '{handle}' would have {in_file} SKUs; a product has "
                    f"{rules.MAX_VARIANTS} at most",
                )
            )
        for row in group:
            stored_variant = stored.variants.get(row.sku.lower())
            if stored_variant is None:
                position += 1
                plan.new_variants.append(
                    (
                        handle,
                        {
                            "merchant_id": 0,
                            "sku": row.sku,
                            "options": row.options or {},
                            "price": row.price,
                            "compare_at_price": row.compare_at_price,
                            "stock": row.stock or 0,
                            "position": position,
                        },
                    )
                )
                plan.created += 1
                continue
            variant_change: dict[str, Any] = {
                "id": stored_variant.id,
                "sku": row.sku,
                "price": row.price,
            }
            if "compare_at_price" in columns:
                variant_change["compare_at_price"] = row.compare_at_price
            elif (
                stored_variant.compare_at_price is not None
                and stored_variant.compare_at_price <= row.price
            ):
                currency = values.get("currency") or (existing.currency if existing else "EUR")
                errors.append(
                    RowError(
                        row.row,
                        "price",
                        f"is not below the stored compare-at price "
                        f"({format_amount(stored_variant.compare_at_price, currency)}); add a "
                        "compare_at_price column to change both",
                    )
                )
            if row.stock is not None:
                variant_change["stock"] = row.stock
            if row.options is not None:
                variant_change["options"] = row.options
            plan.variant_changes.append(variant_change)
            plan.updated += 1
    return plan, errors


def _agreed_product_values(
    handle: str, group: Sequence[ParsedRow]
) -> tuple[dict[str, str], list[RowError]]:
    """The product's title, currency… from the first row that gives each; later rows may
    leave them empty but not contradict them."""
    values: dict[str, str] = {}
    first_row: dict[str, int] = {}
    errors: list[RowError] = []
    for row in group:
        cells = dict(row.product)
        if row.status is not None:
            cells["status"] = row.status.value
        for column in PRODUCT_COLUMNS:
            if column not in cells:
                continue
            if column not in values:
                values[column] = cells[column]
                first_row[column] = row.row
            elif cells[column] != values[column]:
                errors.append(
                    RowError(
                        row.row,
                        column,
                        f"differs from row {first_row[column]} of product '{handle}'; rows of "
                        "one product must agree — or leave it empty after the first row",
                    )
                )
    return values, errors


def _status(group: Sequence[ParsedRow]) -> ProductStatus | None:
    return next((row.status for row in group if row.status is not None), None)


def _currency_change_errors(
    handle: str, existing: StoredProduct, group: Sequence[ParsedRow], values: dict[str, str]
) -> list[RowError]:
    """Changing a product's currency would silently re-read the prices of SKUs the file does
    not give; so a currency change must list every SKU of the product."""
    currency = values.get("currency")
    if currency is None or currency == existing.currency:
        return []
    in_file = {row.sku.lower() for row in group}
    left_out = sorted(sku for sku in existing.skus if sku.lower() not in in_file)
    if not left_out:
        return []
    return [
        RowError(
            group[0].row,
            "currency",
            f"changes product '{handle}' from {existing.currency} to {currency} but its SKUs "
            f"{', '.join(left_out[:5])}{'…' if len(left_out) > 5 else ''} are not in the file; "
            "give every SKU of the product with its new price",
        )
    ]


async def write_plan(session: AsyncSession, merchant_id: int, plan: Plan) -> None:
    """Bulk statements: a few round trips whatever the number of rows."""
    if plan.new_products:
        await session.execute(
            insert(Product), [dict(values, merchant_id=merchant_id) for values in plan.new_products]
        )
    if plan.product_changes:
        await session.execute(update(Product), plan.product_changes)
    if plan.new_variants:
        rows = await session.execute(
            select(Product.handle, Product.id).where(Product.merchant_id == merchant_id)
        )
        product_ids = {handle: product_id for handle, product_id in rows}
        await session.execute(
            insert(Variant),
            [
                dict(values, merchant_id=merchant_id, product_id=product_ids[handle])
                for handle, values in plan.new_variants
            ],
        )
    if plan.variant_changes:
        await session.execute(update(Variant), plan.variant_changes)
