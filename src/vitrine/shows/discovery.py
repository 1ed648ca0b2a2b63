"""Finding shows and products: search by words (title, description, brand name), categories,
and live shows ranked by how many people watch them right now."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from vitrine.accounts.models import Merchant, MerchantStatus
from vitrine.catalog.models import Product, ProductImage, ProductStatus, Variant
from vitrine.core.broker import Broker, BrokerUnavailable
from vitrine.core.db import Database
from vitrine.core.errors import ValidationFailed
from vitrine.core.money import format_amount
from vitrine.shows.listing import ShowCard, live_now
from vitrine.shows.models import LineupItem, Show, ShowStatus

PAGE_SIZE = 12
# Live first, then upcoming, then replays.
_LIVE_FIRST = case(
    (Show.status == ShowStatus.LIVE, 0), (Show.status == ShowStatus.SCHEDULED, 1), else_=2
)
MAX_QUERY = 100
# Cancelled shows are not worth finding; scheduled, live and replays are.
FINDABLE = (ShowStatus.SCHEDULED, ShowStatus.LIVE, ShowStatus.ENDED)
READER = "discovery"  # reports a count of 0 under this name: a pure read of the sum


@dataclass(frozen=True, slots=True)
class ProductHit:
    product: Product
    merchant: Merchant
    price_from: int
    thumbnail: str | None

    @property
    def price_text(self) -> str:
        return format_amount(self.price_from, self.product.currency)


@dataclass(frozen=True, slots=True)
class Found:
    """One page of shows and one page of products."""

    query: str
    category: str
    shows: list[ShowCard]
    products: list[ProductHit]
    show_total: int
    product_total: int
    page: int

    @property
    def pages(self) -> int:
        biggest = max(self.show_total, self.product_total)
        return max(1, -(-biggest // PAGE_SIZE))

    @property
    def has_more(self) -> bool:
        return self.page < self.pages


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    products: int


def clean_query(text: str) -> str:
    words = " ".join(text.split())
    if len(words) > MAX_QUERY:
        raise ValidationFailed({"q": f"Search with at most {MAX_QUERY} characters"})
    return words


def clean_page(text: str) -> int:
    if not text:
        return 1
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise ValidationFailed({"page": "Pages are numbered from 1"})
    return int(text)


def _words_match(query: str, *columns: Any) -> ColumnElement[bool]:
    """Every word appears in one of the columns, ignoring case. lower() + LIKE behaves the same
    on SQLite and PostgreSQL; a % or _ typed by a person is matched literally."""
    words = query.lower().split()
    if not words:
        return true()
    return and_(
        *(
            or_(*(func.lower(column).contains(word, autoescape=True) for column in columns))
            for word in words
        )
    )


def _category_is(name: str) -> ColumnElement[bool]:
    return func.lower(Product.category) == name.strip().lower()


async def search(db: Database, query: str, *, category: str = "", page: int = 1) -> Found:
    """Shows and products of approved brands whose title, description or brand name hold every
    word; within a category, shows whose lineup has a product of it."""
    offset = (page - 1) * PAGE_SIZE
    show_filter = and_(
        Merchant.status == MerchantStatus.APPROVED,
        Show.status.in_(FINDABLE),
        _words_match(query, Show.title, Show.description, Merchant.brand_name),
    )
    if category:
        show_filter = and_(
            show_filter,
            Show.id.in_(
                select(LineupItem.show_id)
                .join(Product, Product.id == LineupItem.product_id)
                .where(_category_is(category), Product.status == ProductStatus.ACTIVE)
            ),
        )
    product_filter = and_(
        Merchant.status == MerchantStatus.APPROVED,
        Product.status == ProductStatus.ACTIVE,
        _words_match(query, Product.title, Product.description, Merchant.brand_name),
    )
    if category:
        product_filter = and_(product_filter, _category_is(category))
    async with db.read() as session:
        shows_from = select(Show, Merchant).join(Merchant, Merchant.id == Show.merchant_id)
        show_total = await _count(session, Show.id, Merchant, show_filter, show=True)
        show_rows = (
            await session.execute(
                shows_from.where(show_filter)
                .order_by(_LIVE_FIRST, Show.scheduled_start.desc(), Show.id)
                .offset(offset)
                .limit(PAGE_SIZE)
            )
        ).all()
        product_total = await _count(session, Product.id, Merchant, product_filter, show=False)
        product_rows = (
            await session.execute(
                select(Product, Merchant)
                .join(Merchant, Merchant.id == Product.merchant_id)
                .where(product_filter)
                .order_by(Product.title, Product.id)
                .offset(offset)
                .limit(PAGE_SIZE)
            )
        ).all()
        products = await _hits(session, [(p, m) for p, m in product_rows])
    cards = [ShowCard(show, merchant) for show, merchant in show_rows]
    return Found(query, category, cards, products, show_total, product_total, page)


async def _count(
    session: AsyncSession, key: Any, merchant: Any, condition: Any, *, show: bool
) -> int:
    owner = Show.merchant_id if show else Product.merchant_id
    total = await session.scalar(
        select(func.count(key)).join(merchant, merchant.id == owner).where(condition)
    )
    return total or 0


async def _hits(session: AsyncSession, rows: list[tuple[Product, Merchant]]) -> list[ProductHit]:
    ids = [product.id for product, _ in rows]
    prices = dict(
        (
            await session.execute(
                select(Variant.product_id, func.min(Variant.price))
                .where(Variant.product_id.in_(ids))
                .group_by(Variant.product_id)
            )
        ).all()
    )
    thumbs: dict[int, str] = {}
    for image in (
        await session.scalars(
            select(ProductImage)
            .where(ProductImage.product_id.in_(ids))
            .order_by(ProductImage.position, ProductImage.id)
        )
    ).all():
        thumbs.setdefault(image.product_id, image.thumbnail_path)
    return [
        ProductHit(product, merchant, int(prices.get(product.id) or 0), thumbs.get(product.id))
        for product, merchant in rows
    ]


async def categories(db: Database) -> list[Category]:
    """Categories of active products of approved brands, as merchants spelled them (the most
    common spelling wins when two differ only in case)."""
    async with db.read() as session:
        rows = (
            await session.execute(
                select(Product.category, func.count())
                .join(Merchant, Merchant.id == Product.merchant_id)
                .where(
                    Merchant.status == MerchantStatus.APPROVED,
                    Product.status == ProductStatus.ACTIVE,
                    Product.category != "",
                )
                .group_by(Product.category)
            )
        ).all()
    merged: dict[str, tuple[str, int, int]] = {}
    for name, count in rows:
        key = name.strip().lower()
        spelled, best, total = merged.get(key, (name.strip(), 0, 0))
        if count > best:
            spelled, best = name.strip(), count
        merged[key] = (spelled, best, total + count)
    return sorted(
        (Category(spelled, total) for spelled, _, total in merged.values()),
        key=lambda category: category.name.lower(),
    )


# -- live shows by viewers ---------------------------------------------------------------------

LocalCount = Callable[[str], int]


async def current_viewers(broker: Broker, show_id: int, local: LocalCount | None = None) -> int:
    """A show's viewers summed over every edge (the count the edges report to the broker);
    this instance's own count when the broker cannot answer; 0 when neither knows."""
    try:
        # A count of 0 adds nothing; the ttl only keeps the hash alive as long as the edges do.
        return await broker.report_count(f"viewers:{show_id}", READER, 0, 60.0)
    except BrokerUnavailable:
        return local(str(show_id)) if local is not None else 0


@dataclass(frozen=True, slots=True)
class LiveCard:
    show: Show
    merchant: Merchant
    viewers: int


async def live_by_viewers(
    db: Database, broker: Broker, local: LocalCount | None = None, *, limit: int = 24
) -> list[LiveCard]:
    """Shows live now, the most watched first (the newest first among equals)."""
    cards = await live_now(db, limit=limit)
    counted = [
        LiveCard(card.show, card.merchant, await current_viewers(broker, card.show.id, local))
        for card in cards
    ]
    # live_now is newest first; a stable sort keeps that order among equal counts.
    return sorted(counted, key=lambda card: -card.viewers)
