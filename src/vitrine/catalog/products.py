"""The Shopping Manager's products: create, update, archive, stock, and the queries pages and
other domains read the catalog with. Every action takes the Actor and checks it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, case, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from vitrine.accounts.actor import Actor
from vitrine.catalog.access import own_product, own_variant
from vitrine.catalog.drafts import ProductDraft, VariantDraft
from vitrine.catalog.models import Product, ProductStatus, Variant
from vitrine.catalog.rules import Invalid, check_product, check_stock, clean_status, slugify
from vitrine.catalog.views import ProductPage, ProductView, VariantView, load_views, variant_view
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.core.errors import Conflict, ValidationFailed

MAX_PER_PAGE = 100


# --- actions ------------------------------------------------------------------------------


async def create_product(
    actor: Actor, db: Database, merchant_id: int, draft: ProductDraft
) -> ProductView:
    """A new product with its variants; refuses bad fields and SKUs the merchant already uses."""
    actor.require_manager(merchant_id)
    clean = check_product(draft)
    async with db.write() as tx:
        session = tx.session
        await _refuse_used_skus(session, merchant_id, clean.variants, exclude_product=None)
        handle = clean.handle or await _free_handle(session, merchant_id, slugify(clean.title))
        if clean.handle:
            await _refuse_used_handle(session, merchant_id, handle, exclude_product=None)
        product = Product(
            merchant_id=merchant_id,
            handle=handle,
            title=clean.title,
            description=clean.description,
            status=ProductStatus(clean.status),
            currency=clean.currency,
            external_url=clean.external_url,
            category=clean.category,
        )
        session.add(product)
        await _flush(session)
        for position, variant in enumerate(clean.variants):
            session.add(_new_variant(product, variant, position))
        await _flush(session)
        [view] = await load_views(session, [product])
    return view


async def update_product(
    actor: Actor, db: Database, product_id: int, draft: ProductDraft
) -> ProductView:
    """Replace a product's fields and variants. Variants keep their ids when matched by `id` or
    by SKU; variants left out of the draft are removed."""
    async with db.write() as tx:
        session = tx.session
        product = await own_product(session, actor, product_id, for_update=True)
        clean = check_product(draft)  # after the actor's rights: strangers learn nothing
        existing = list(
            await session.scalars(select(Variant).where(Variant.product_id == product.id))
        )
        matched = _match_variants(clean.variants, existing)
        await _refuse_used_skus(
            session, product.merchant_id, clean.variants, exclude_product=product.id
        )
        if clean.handle and clean.handle != product.handle:
            await _refuse_used_handle(
                session, product.merchant_id, clean.handle, exclude_product=product.id
            )
            product.handle = clean.handle
        product.title = clean.title
        product.description = clean.description
        product.status = ProductStatus(clean.status)
        product.currency = clean.currency
        product.external_url = clean.external_url
        product.category = clean.category
        product.updated_at = utc_now()
        kept = {variant.id for variant in matched if variant is not None}
        gone = [variant.id for variant in existing if variant.id not in kept]
        if gone:
            await _remove_variants(session, [v for v in existing if v.id in set(gone)])
        # Free the SKUs first so swapping two SKUs does not trip the unique constraint.
        for row in matched:
            if row is not None:
                row.sku = f"~{row.id}"
        await _flush(session)
        for position, (variant, row) in enumerate(zip(clean.variants, matched, strict=True)):
            if row is None:
                session.add(_new_variant(product, variant, position))
                continue
            row.sku = variant.sku
            row.options = dict(variant.options)
            row.price = variant.price
            row.compare_at_price = variant.compare_at_price
            row.position = position
            if variant.stock_seen is None:
                row.stock = variant.stock
            elif variant.stock != variant.stock_seen:
                # Sales during a live show change stock under the form: apply the difference.
                change = variant.stock - variant.stock_seen
                row.stock = case((Variant.stock + change < 0, 0), else_=Variant.stock + change)
        await _flush(session)
        for row, variant in zip(matched, clean.variants, strict=True):
            if row is not None and variant.stock_seen is not None:
                await session.refresh(row, ["stock"])
        [view] = await load_views(session, [product])
    return view


async def set_product_status(
    actor: Actor, db: Database, product_id: int, status: str
) -> ProductView:
    """Publish (active), hide (draft) or archive a product."""
    async with db.write() as tx:
        product = await own_product(tx.session, actor, product_id, for_update=True)
        try:
            new_status = clean_status(status)
        except Invalid as error:
            raise ValidationFailed({"status": error.message}) from None
        product.status = new_status
        product.updated_at = utc_now()
        await tx.session.flush()
        [view] = await load_views(tx.session, [product])
    return view


async def archive_product(actor: Actor, db: Database, product_id: int) -> ProductView:
    """Take a product off the shop without losing it (orders and replays still name it)."""
    return await set_product_status(actor, db, product_id, ProductStatus.ARCHIVED.value)


async def set_stock(actor: Actor, db: Database, variant_id: int, stock: int) -> VariantView:
    """Set the stock counted on the shelf for one SKU."""
    try:
        check_stock(stock)
    except Invalid as error:
        raise ValidationFailed({"stock": error.message}) from None
    async with db.write() as tx:
        variant = await own_variant(tx.session, actor, variant_id)
        variant.stock = stock
        await tx.session.flush()
        return variant_view(variant)


async def adjust_stock(actor: Actor, db: Database, variant_id: int, change: int) -> VariantView:
    """Add units to a SKU's stock (or take some away with a negative change) without
    overwriting what sells at the same moment; stock never goes below zero."""
    async with db.write() as tx:
        variant = await own_variant(tx.session, actor, variant_id)
        stock = await tx.session.scalar(
            update(Variant)
            .where(Variant.id == variant.id, Variant.stock + change >= 0)
            .values(stock=Variant.stock + change)
            .returning(Variant.stock)
        )
        await tx.session.refresh(variant)
        if stock is None:
            raise ValidationFailed(
                {"stock": f"only {variant.stock} left; you can take away {variant.stock} at most"}
            )
        return variant_view(variant)


# --- queries ------------------------------------------------------------------------------


async def list_products(
    actor: Actor,
    db: Database,
    merchant_id: int,
    *,
    status: str | None = None,
    search: str = "",
    page: int = 1,
    per_page: int = 25,
) -> ProductPage:
    """A merchant's products, newest change first; `search` matches title, handle or SKU."""
    actor.require_manager(merchant_id)
    conditions: list[ColumnElement[bool]] = [Product.merchant_id == merchant_id]
    if status:
        try:
            conditions.append(Product.status == clean_status(status))
        except Invalid as error:
            raise ValidationFailed({"status": error.message}) from None
    text = " ".join(search.split())
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            or_(
                Product.title.ilike(pattern, escape="\\"),
                Product.handle.ilike(pattern, escape="\\"),
                exists().where(
                    Variant.product_id == Product.id, Variant.sku.ilike(pattern, escape="\\")
                ),
            )
        )
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    page = max(page, 1)
    async with db.read() as session:
        total = await session.scalar(select(func.count(Product.id)).where(*conditions)) or 0
        products = (
            await session.scalars(
                select(Product)
                .where(*conditions)
                .order_by(Product.updated_at.desc(), Product.id.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
        ).all()
        items = await load_views(session, products)
    return ProductPage(items=items, total=total, page=page, per_page=per_page)


async def get_product(actor: Actor, db: Database, product_id: int) -> ProductView:
    """One product of the actor's merchant, with its variants and images."""
    async with db.read() as session:
        product = await own_product(session, actor, product_id)
        [view] = await load_views(session, [product])
    return view


async def active_products(db: Database, merchant_id: int, *, limit: int = 48) -> list[ProductView]:
    """What shoppers see in the brand page's Shop module: active products, newest first."""
    async with db.read() as session:
        products = (
            await session.scalars(
                select(Product)
                .where(Product.merchant_id == merchant_id, Product.status == ProductStatus.ACTIVE)
                .order_by(Product.created_at.desc(), Product.id.desc())
                .limit(limit)
            )
        ).all()
        return await load_views(session, products)


async def products_by_ids(db: Database, product_ids: Iterable[int]) -> list[ProductView]:
    """Products in the order asked (a show's lineup), whatever their status; unknown ids are
    skipped. The caller decides what a shopper may see (usually only active products)."""
    wanted = list(dict.fromkeys(product_ids))
    if not wanted:
        return []
    async with db.read() as session:
        found = {
            product.id: product
            for product in await session.scalars(select(Product).where(Product.id.in_(wanted)))
        }
        return await load_views(
            session, [found[product_id] for product_id in wanted if product_id in found]
        )


# --- helpers ------------------------------------------------------------------------------


def _new_variant(product: Product, variant: VariantDraft, position: int) -> Variant:
    return Variant(
        product_id=product.id,
        merchant_id=product.merchant_id,
        sku=variant.sku,
        options=dict(variant.options),
        price=variant.price,
        compare_at_price=variant.compare_at_price,
        stock=variant.stock,
        position=position,
    )


def _match_variants(
    drafts: Sequence[VariantDraft], existing: Sequence[Variant]
) -> list[Variant | None]:
    """For each draft, the existing variant it updates (by id, else by SKU), or None."""
    by_id = {variant.id: variant for variant in existing}
    taken: set[int] = set()
    errors: dict[str, str] = {}
    matched: list[Variant | None] = []
    for index, draft in enumerate(drafts):
        row = None
        if draft.id is not None:
            row = by_id.get(draft.id)
            if row is None or row.id in taken:
                errors[f"variants[{index}].id"] = (
                    f"variant #{draft.id} is not a variant of this product; reload the page"
                )
        if row is not None:
            taken.add(row.id)
        matched.append(row)
    for index, draft in enumerate(drafts):
        if matched[index] is not None or draft.id is not None:
            continue
        for variant in existing:
            if variant.id not in taken and variant.sku.lower() == draft.sku.lower():
                matched[index] = variant
                taken.add(variant.id)
                break
    if errors:
        raise ValidationFailed(errors)
    return matched


async def _remove_variants(session: AsyncSession, variants: Sequence[Variant]) -> None:
    try:
        async with session.begin_nested():
            await session.execute(
                delete(Variant).where(Variant.id.in_([variant.id for variant in variants]))
            )
    except IntegrityError:
        skus = ", ".join(variant.sku for variant in variants)
        raise ValidationFailed(
            {
                "variants": f"{skus} cannot be removed: orders or deals refer to "
                f"{'it' if len(variants) == 1 else 'them'}; keep it and set its stock to 0"
            }
        ) from None


async def _refuse_used_skus(
    session: AsyncSession,
    merchant_id: int,
    variants: Sequence[VariantDraft],
    *,
    exclude_product: int | None,
) -> None:
    index_of = {variant.sku.lower(): index for index, variant in enumerate(variants)}
    query = (
        select(Variant.sku, Product.title)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.merchant_id == merchant_id, func.lower(Variant.sku).in_(list(index_of)))
    )
    if exclude_product is not None:
        query = query.where(Variant.product_id != exclude_product)
    errors: dict[str, str] = {}
    for sku, title in await session.execute(query):
        index = index_of[sku.lower()]
        errors[f"variants[{index}].sku"] = (
            f"SKU '{variants[index].sku}' is already used by '{title}'; choose another"
        )
    if errors:
        raise ValidationFailed(dict(sorted(errors.items())))


async def _refuse_used_handle(
    session: AsyncSession, merchant_id: int, handle: str, *, exclude_product: int | None
) -> None:
    query = select(Product.title).where(
        Product.merchant_id == merchant_id, Product.handle == handle
    )
    if exclude_product is not None:
        query = query.where(Product.id != exclude_product)
    title = await session.scalar(query)
    if title is not None:
        raise ValidationFailed(
            {"handle": f"handle '{handle}' is already used by '{title}'; choose another"}
        )


async def _free_handle(session: AsyncSession, merchant_id: int, base: str) -> str:
    """`base`, or `base-2`, `base-3`… whichever this merchant does not use yet."""
    used = set(
        await session.scalars(
            select(Product.handle).where(
                Product.merchant_id == merchant_id,
                or_(Product.handle == base, Product.handle.like(f"{base}-%")),
            )
        )
    )
    if base not in used:
        return base
    number = 2
    while f"{base}-{number}" in used:
        number += 1
    return f"{base}-{number}"


async def _flush(session: AsyncSession) -> None:
    """Flush; a unique constraint hit here means a concurrent edit won the race."""
    try:
        await session.flush()
    except IntegrityError as error:
        raise Conflict(
            "Another change to this catalog was saved at the same moment (the same SKU or "
            "handle); reload the page and try again"
        ) from error
