"""Read-only shapes of the catalog handed to pages, the API and other domains (never ORM rows,
so nothing lazy-loads after the session has closed)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vitrine.catalog.models import Product, ProductImage, ProductStatus, Variant


@dataclass(frozen=True, slots=True)
class VariantView:
    id: int
    sku: str
    options: dict[str, str]
    price: int  # minor units of the product's currency
    compare_at_price: int | None
    stock: int
    position: int


@dataclass(frozen=True, slots=True)
class ImageView:
    """Paths are relative to `<data_dir>/media` (`products/<id>/<name>.jpg`), which the app
    serves under /media/: the URL is `"/media/" + path`."""

    id: int
    path: str
    thumbnail_path: str
    content_type: str
    width: int
    height: int
    position: int


@dataclass(frozen=True, slots=True)
class ProductView:
    id: int
    merchant_id: int
    handle: str
    title: str
    description: str
    status: ProductStatus
    currency: str
    external_url: str
    category: str
    created_at: datetime
    updated_at: datetime
    variants: tuple[VariantView, ...]
    images: tuple[ImageView, ...]

    @property
    def min_price(self) -> int:
        return min((variant.price for variant in self.variants), default=0)

    @property
    def max_price(self) -> int:
        return max((variant.price for variant in self.variants), default=0)

    @property
    def total_stock(self) -> int:
        return sum(variant.stock for variant in self.variants)

    @property
    def thumbnail_path(self) -> str | None:
        return self.images[0].thumbnail_path if self.images else None


@dataclass(frozen=True, slots=True)
class ProductPage:
    """One page of a merchant's product list."""

    items: list[ProductView]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def variant_view(variant: Variant) -> VariantView:
    return VariantView(
        id=variant.id,
        sku=variant.sku,
        options={str(name): str(value) for name, value in dict(variant.options or {}).items()},
        price=variant.price,
        compare_at_price=variant.compare_at_price,
        stock=variant.stock,
        position=variant.position,
    )


def image_view(image: ProductImage) -> ImageView:
    return ImageView(
        id=image.id,
        path=image.path,
        thumbnail_path=image.thumbnail_path,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        position=image.position,
    )


async def load_views(session: AsyncSession, products: Sequence[Product]) -> list[ProductView]:
    """Views of `products` in the same order, with their variants and images (three queries)."""
    ids = [product.id for product in products]
    if not ids:
        return []
    variants: dict[int, list[VariantView]] = {product_id: [] for product_id in ids}
    for variant in await session.scalars(
        select(Variant)
        .where(Variant.product_id.in_(ids))
        .order_by(Variant.product_id, Variant.position, Variant.id)
    ):
        variants[variant.product_id].append(variant_view(variant))
    images: dict[int, list[ImageView]] = {product_id: [] for product_id in ids}
    for image in await session.scalars(
        select(ProductImage)
        .where(ProductImage.product_id.in_(ids))
        .order_by(ProductImage.product_id, ProductImage.position, ProductImage.id)
    ):
        images[image.product_id].append(image_view(image))
    return [
        _product_view(product, variants[product.id], images[product.id]) for product in products
    ]


def _product_view(
    product: Product, variants: Iterable[VariantView], images: Iterable[ImageView]
) -> ProductView:
    return ProductView(
        id=product.id,
        merchant_id=product.merchant_id,
        handle=product.handle,
        title=product.title,
        description=product.description,
        status=product.status,
        currency=product.currency,
        external_url=product.external_url,
        category=product.category,
        created_at=product.created_at,
        updated_at=product.updated_at,
        variants=tuple(variants),
        images=tuple(images),
    )


def as_json(view: ProductView) -> dict[str, Any]:
    """The product as the API returns it."""
    return {
        "id": view.id,
        "merchant_id": view.merchant_id,
        "handle": view.handle,
        "title": view.title,
        "description": view.description,
        "status": view.status.value,
        "currency": view.currency,
        "external_url": view.external_url,
        "category": view.category,
        "created_at": view.created_at.isoformat(),
        "updated_at": view.updated_at.isoformat(),
        "variants": [
            {
                "id": variant.id,
                "sku": variant.sku,
                "options": variant.options,
                "price": variant.price,
                "compare_at_price": variant.compare_at_price,
                "stock": variant.stock,
            }
            for variant in view.variants
        ],
        "images": [
            {
                "id": image.id,
                "path": image.path,
                "thumbnail_path": image.thumbnail_path,
                "width": image.width,
                "height": image.height,
            }
            for image in view.images
        ],
    }
