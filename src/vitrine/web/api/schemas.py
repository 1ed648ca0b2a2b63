"""The REST API's documents (what partners send and receive), as msgspec structs."""

from __future__ import annotations

from datetime import datetime

import msgspec

from vitrine.accounts.models import Merchant
from vitrine.catalog.queries import ShopItem
from vitrine.shows.models import Show


class MerchantOut(msgspec.Struct):
    handle: str
    brand_name: str
    description: str
    website: str
    logo_url: str | None
    status: str
    url: str


class ProductSummaryOut(msgspec.Struct):
    id: int
    title: str
    status: str
    currency: str
    price_from: int
    compare_at_price: int | None
    in_stock: int
    external_url: str
    thumbnail_url: str | None


class ShowOut(msgspec.Struct):
    id: int
    merchant: str
    title: str
    description: str
    status: str
    scheduled_start: datetime
    expected_minutes: int
    started_at: datetime | None
    ended_at: datetime | None
    url: str


class ShowIn(msgspec.Struct, forbid_unknown_fields=True):
    """A show to schedule or change. Left out on a change (PATCH), the description, lineup and
    hosts stay as they are; left out on a new show, they start empty."""

    title: str
    starts_at: str  # ISO 8601; without an offset it is read in the merchant's time zone
    expected_minutes: int
    description: str | None = None
    product_ids: list[int] | None = None
    host_emails: list[str] | None = None


class Page(msgspec.Struct):
    items: list[MerchantOut] | list[ProductSummaryOut] | list[ShowOut]


def merchant_out(merchant: Merchant, base_url: str) -> MerchantOut:
    return MerchantOut(
        handle=merchant.handle,
        brand_name=merchant.brand_name,
        description=merchant.description,
        website=merchant.website,
        logo_url=f"{base_url}/media/{merchant.logo_path}" if merchant.logo_path else None,
        status=merchant.status.value,
        url=f"{base_url}/brands/{merchant.handle}",
    )


def product_summary_out(item: ShopItem, base_url: str) -> ProductSummaryOut:
    return ProductSummaryOut(
        id=item.product.id,
        title=item.product.title,
        status=item.product.status.value,
        currency=item.product.currency,
        price_from=item.price_from,
        compare_at_price=item.compare_at,
        in_stock=item.in_stock,
        external_url=item.product.external_url,
        thumbnail_url=f"{base_url}/media/{item.thumbnail}" if item.thumbnail else None,
    )


def show_out(show: Show, handle: str, base_url: str) -> ShowOut:
    return ShowOut(
        id=show.id,
        merchant=handle,
        title=show.title,
        description=show.description,
        status=show.status.value,
        scheduled_start=show.scheduled_start,
        expected_minutes=show.expected_minutes,
        started_at=show.started_at,
        ended_at=show.ended_at,
        url=f"{base_url}/shows/{show.id}",
    )
