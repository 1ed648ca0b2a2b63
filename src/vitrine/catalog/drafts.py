"""What a merchant submits for a product: built by the web forms, the API and the CSV import,
checked by `vitrine.catalog.rules` before anything is written."""

from __future__ import annotations

import msgspec


class VariantDraft(msgspec.Struct, frozen=True, kw_only=True):
    """One SKU. Prices are integer minor units of the product's currency (1999 = 19.99 EUR).

    `id` names an existing variant when a product is updated (so orders keep pointing at it);
    without it, a variant of the product with the same SKU is updated, else one is created.
    `stock_seen` is the stock the form showed: when given, the merchant's edit is applied as a
    change on top of what sold meanwhile during a live show, instead of overwriting it."""

    sku: str
    price: int
    compare_at_price: int | None = None
    stock: int = 0
    options: dict[str, str] = msgspec.field(default_factory=dict)
    id: int | None = None
    stock_seen: int | None = None


class ProductDraft(msgspec.Struct, frozen=True, kw_only=True):
    """A product with its variants. `status` is draft, active or archived. `handle` is made
    from the title when left empty."""

    title: str
    currency: str
    variants: list[VariantDraft]
    description: str = ""
    status: str = "draft"
    external_url: str = ""
    category: str = ""
    handle: str = ""
