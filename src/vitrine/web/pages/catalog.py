"""The Shopping Manager's catalog pages: product list, product form with variants and photos,
CSV import with a progress bar, CSV export. Thin: read the form, call vitrine.catalog, render."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from vitrine.accounts import merchants
from vitrine.catalog import csv_import, images, products
from vitrine.catalog.csv_format import COLUMNS, format_price
from vitrine.catalog.drafts import ProductDraft, VariantDraft
from vitrine.catalog.models import ProductStatus
from vitrine.catalog.rules import check_product
from vitrine.catalog.views import ProductView
from vitrine.core.errors import ValidationFailed
from vitrine.core.money import check_currency, parse_amount
from vitrine.web.auth import page_actor
from vitrine.web.pages.common import back_to, form_of, invalid, render
from vitrine.web.services import services_of

BLANK_VARIANT_ROWS = 1  # empty rows under the variants so one can be added without script
_VARIANT_KEY = re.compile(r"^variants\[(\d+)\]\.(\w+)$")


# --- list ---------------------------------------------------------------------------------


@get("/manage/{merchant_id:int}/catalog")
async def catalog_page(
    request: Request[Any, Any, Any],
    merchant_id: FromPath[int],
    status: FromQuery[str] = "",
    q: FromQuery[str] = "",
    page: FromQuery[int] = 1,
) -> Template:
    services = services_of(request)
    actor = await page_actor(request)
    listing = await products.list_products(
        actor, services.db, merchant_id, status=status or None, search=q, page=page
    )
    return await render(
        request,
        "catalog/list.html",
        merchant=await merchants.get_merchant(services.db, merchant_id),
        listing=listing,
        status_filter=status,
        q=q,
        statuses=[s.value for s in ProductStatus],
    )


# --- product form -------------------------------------------------------------------------


@get("/manage/{merchant_id:int}/catalog/new")
async def new_product_page(request: Request[Any, Any, Any], merchant_id: FromPath[int]) -> Template:
    services = services_of(request)
    (await page_actor(request)).require_manager(merchant_id)
    merchant = await merchants.get_merchant(services.db, merchant_id)
    values = {"status": "draft", "currency": merchant.currency, "option1_name": "Size"}
    return await _form(request, merchant, None, values, {})


async def _save_product(
    request: Request[Any, Any, Any], merchant_id: int, product_id: int | None
) -> Response[Any]:
    """Create a product (`product_id` None) or change one; on bad input, the form again."""
    services = services_of(request)
    actor = await page_actor(request)
    if product_id is None:  # who asks comes before what they typed
        actor.require_manager(merchant_id)
    else:
        await products.get_product(actor, services.db, product_id)
    values = await form_of(request)
    try:
        draft, rows = _draft_from_form(values)
        try:
            if product_id is None:
                product = await products.create_product(actor, services.db, merchant_id, draft)
            else:
                product = await products.update_product(actor, services.db, product_id, draft)
        except ValidationFailed as refused:
            raise _on_form_rows(refused, rows) from None
    except ValidationFailed as error:
        current = (
            None
            if product_id is None
            else await products.get_product(actor, services.db, product_id)
        )
        owner = current.merchant_id if current else merchant_id
        merchant = await merchants.get_merchant(services.db, owner)
        return await _form(request, merchant, current, values, error.errors, status=422)
    return back_to(f"/manage/{product.merchant_id}/catalog/{product.id}?saved=1")


@post("/manage/{merchant_id:int}/catalog/new")
async def new_product_submit(
    request: Request[Any, Any, Any], merchant_id: FromPath[int]
) -> Response[Any]:
    return await _save_product(request, merchant_id, None)


@get("/manage/{merchant_id:int}/catalog/{product_id:int}")
async def edit_product_page(
    request: Request[Any, Any, Any], merchant_id: FromPath[int], product_id: FromPath[int]
) -> Template:
    services = services_of(request)
    product = await products.get_product(await page_actor(request), services.db, product_id)
    merchant = await merchants.get_merchant(services.db, product.merchant_id)
    return await _form(request, merchant, product, _values_of(product), {})


@post("/manage/{merchant_id:int}/catalog/{product_id:int}")
async def edit_product_submit(
    request: Request[Any, Any, Any], merchant_id: FromPath[int], product_id: FromPath[int]
) -> Response[Any]:
    return await _save_product(request, merchant_id, product_id)


@post("/manage/{merchant_id:int}/catalog/{product_id:int}/status")
async def product_status_submit(
    request: Request[Any, Any, Any], merchant_id: FromPath[int], product_id: FromPath[int]
) -> Response[Any]:
    services = services_of(request)
    values = await form_of(request)
    product = await products.set_product_status(
        await page_actor(request), services.db, product_id, values.get("status", "")
    )
    return back_to(f"/manage/{product.merchant_id}/catalog/{product.id}")


@post("/manage/{merchant_id:int}/catalog/{product_id:int}/images")
async def add_image_submit(
    request: Request[Any, Any, Any], merchant_id: FromPath[int], product_id: FromPath[int]
) -> Response[Any]:
    services = services_of(request)
    actor = await page_actor(request)
    upload = (await request.form()).get("image")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed({"image": "choose a photo to upload (JPEG, PNG or WebP)"})
        await images.add_image(
            actor,
            services.db,
            services.settings.data_dir,
            product_id,
            await upload.read(),
            max_bytes=services.settings.max_upload_bytes,
        )
    except ValidationFailed as error:
        current = await products.get_product(actor, services.db, product_id)
        merchant = await merchants.get_merchant(services.db, current.merchant_id)
        return await _form(request, merchant, current, _values_of(current), error.errors, 422)
    return back_to(f"/manage/{merchant_id}/catalog/{product_id}#photos")


@post("/manage/{merchant_id:int}/catalog/{product_id:int}/images/{image_id:int}/delete")
async def remove_image_submit(
    request: Request[Any, Any, Any],
    merchant_id: FromPath[int],
    product_id: FromPath[int],
    image_id: FromPath[int],
) -> Response[Any]:
    services = services_of(request)
    await images.remove_image(
        await page_actor(request), services.db, services.settings.data_dir, image_id
    )
    return back_to(f"/manage/{merchant_id}/catalog/{product_id}#photos")


async def _form(
    request: Request[Any, Any, Any],
    merchant: Any,
    product: ProductView | None,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    status: int = 200,
) -> Template:
    indexes = sorted({int(match.group(1)) for key in values if (match := _VARIANT_KEY.match(key))})
    rows = list(range((max(indexes) + 1 if indexes else 0) + BLANK_VARIANT_ROWS))
    return await render(
        request,
        "catalog/form.html",
        status=status,
        merchant=merchant,
        product=product,
        values=dict(values),
        errors=dict(errors),
        rows=rows,
        statuses=[s.value for s in ProductStatus],
        saved=request.query_params.get("saved") == "1",
    )


def _values_of(product: ProductView) -> dict[str, str]:
    """The form's fields filled with a stored product."""
    names: list[str] = []
    for variant in product.variants:
        for name in variant.options:
            if name not in names:
                names.append(name)
    values = {
        "title": product.title,
        "description": product.description,
        "status": product.status.value,
        "currency": product.currency,
        "category": product.category,
        "external_url": product.external_url,
        "handle": product.handle,
    }
    for number in (1, 2, 3):
        values[f"option{number}_name"] = names[number - 1] if len(names) >= number else ""
    for index, variant in enumerate(product.variants):
        prefix = f"variants[{index}]."
        values[prefix + "id"] = str(variant.id)
        values[prefix + "sku"] = variant.sku
        values[prefix + "price"] = format_price(variant.price, product.currency)
        values[prefix + "compare_at_price"] = (
            ""
            if variant.compare_at_price is None
            else format_price(variant.compare_at_price, product.currency)
        )
        values[prefix + "stock"] = str(variant.stock)
        values[prefix + "stock_seen"] = str(variant.stock)
        for number, name in enumerate(names[:3], start=1):
            values[prefix + f"option{number}"] = variant.options.get(name, "")
    return values


def _draft_from_form(values: Mapping[str, str]) -> tuple[ProductDraft, list[int]]:
    """Read the product form; prices are typed as decimals in the product's currency. Raises
    ValidationFailed naming every bad field, with the form's own field names. Also returns the
    form row of each variant of the draft (empty rows are skipped)."""
    errors: dict[str, str] = {}
    try:
        currency: str | None = check_currency(values.get("currency", ""))
    except ValidationFailed:
        currency = None  # check_product names it
    option_names = [values.get(f"option{n}_name", "").strip() for n in (1, 2, 3)]
    indexes = sorted({int(match.group(1)) for key in values if (match := _VARIANT_KEY.match(key))})
    variants: list[VariantDraft] = []
    form_index: list[int] = []
    for index in indexes:
        prefix = f"variants[{index}]."

        def cell(name: str, prefix: str = prefix) -> str:
            return values.get(prefix + name, "").strip()

        typed = [
            cell(name)
            for name in ("sku", "price", "compare_at_price", "option1", "option2", "option3")
        ]
        if not any(typed) and not cell("id"):
            continue  # an empty row left for adding a variant
        price = _price(cell("price"), currency, prefix + "price", errors, required=True)
        compare_at = _price(cell("compare_at_price"), currency, prefix + "compare_at_price", errors)
        options: dict[str, str] = {}
        for number, name in enumerate(option_names, start=1):
            value = cell(f"option{number}")
            if value and not name.strip():
                errors[f"option{number}_name"] = "name this option, like Size or Colour"
            elif value:
                options[name.strip()] = value
        variants.append(
            VariantDraft(
                sku=cell("sku"),
                price=price or 0,
                compare_at_price=compare_at,
                stock=_whole(cell("stock") or "0", prefix + "stock", errors) or 0,
                options=options,
                id=_whole(cell("id"), prefix + "id", errors) if cell("id") else None,
                stock_seen=_whole(cell("stock_seen"), prefix + "stock", errors)
                if cell("stock_seen")
                else None,
            )
        )
        form_index.append(index)
    draft = ProductDraft(
        title=values.get("title", ""),
        currency=values.get("currency", ""),
        variants=variants,
        description=values.get("description", ""),
        status=values.get("status", "draft"),
        external_url=values.get("external_url", ""),
        category=values.get("category", ""),
        handle=values.get("handle", ""),
    )
    try:
        check_product(draft)
    except ValidationFailed as refused:
        for key, message in refused.errors.items():
            errors.setdefault(_form_key(key, form_index), message)
    if errors:
        raise ValidationFailed(errors)
    return draft, form_index


def _on_form_rows(error: ValidationFailed, form_index: list[int]) -> ValidationFailed:
    return ValidationFailed(
        {_form_key(key, form_index): text for key, text in error.errors.items()}
    )


def _form_key(key: str, form_index: list[int]) -> str:
    """`variants[1].sku` of the draft is `variants[3].sku` of the form when rows were empty."""
    match = re.match(r"^variants\[(\d+)\](.*)$", key)
    if match is None:
        return key
    return f"variants[{form_index[int(match.group(1))]}]{match.group(2)}"


def _price(
    text: str, currency: str | None, field: str, errors: dict[str, str], *, required: bool = False
) -> int | None:
    if not text:
        if required:
            errors[field] = "is required; write a price like 19.99"
        return None
    if currency is None:
        return None
    try:
        return parse_amount(text, currency, field=field)
    except ValidationFailed as error:
        errors.update(error.errors)
    except ArithmeticError:
        errors[field] = f"'{text}' is not a number; write a price like 19.99"
    return None


def _whole(text: str, field: str, errors: dict[str, str]) -> int | None:
    try:
        return int(text)
    except ValueError:
        errors[field] = f"'{text}' is not a whole number; write how many, like 12"
        return None


# --- CSV ----------------------------------------------------------------------------------


@get("/manage/{merchant_id:int}/catalog/import")
async def import_page(request: Request[Any, Any, Any], merchant_id: FromPath[int]) -> Template:
    services = services_of(request)
    actor = await page_actor(request)
    return await render(
        request,
        "catalog/import.html",
        merchant=await merchants.get_merchant(services.db, merchant_id),
        jobs=await csv_import.recent_imports(actor, services.db, merchant_id),
        columns=COLUMNS,
    )


@post("/manage/{merchant_id:int}/catalog/import")
async def import_submit(
    request: Request[Any, Any, Any], merchant_id: FromPath[int]
) -> Response[Any]:
    services = services_of(request)
    actor = await page_actor(request)
    upload = (await request.form()).get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed({"file": "choose a CSV file to import"})
        job_id = await services.imports.start_import(
            actor, merchant_id, upload.filename, await upload.read()
        )
    except ValidationFailed as error:
        return await invalid(
            request,
            "catalog/import.html",
            error,
            {},
            merchant=await merchants.get_merchant(services.db, merchant_id),
            jobs=await csv_import.recent_imports(actor, services.db, merchant_id),
            columns=COLUMNS,
        )
    return back_to(f"/manage/{merchant_id}/catalog/imports/{job_id}")


@get("/manage/{merchant_id:int}/catalog/imports/{job_id:int}")
async def import_job_page(
    request: Request[Any, Any, Any], merchant_id: FromPath[int], job_id: FromPath[int]
) -> Template:
    services = services_of(request)
    job = await csv_import.import_status(await page_actor(request), services.db, job_id)
    return await render(
        request,
        "catalog/import_job.html",
        merchant=await merchants.get_merchant(services.db, job.merchant_id),
        job=job,
    )


@get("/manage/{merchant_id:int}/catalog/imports/{job_id:int}/status")
async def import_job_status(
    request: Request[Any, Any, Any], merchant_id: FromPath[int], job_id: FromPath[int]
) -> dict[str, Any]:
    """What the progress bar polls."""
    job = await csv_import.import_status(await page_actor(request), services_of(request).db, job_id)
    return {
        "status": job.status.value,
        "total_rows": job.total_rows,
        "checked_rows": job.checked_rows,
        "percent": job.percent,
        "saving": job.saving,
        "created": job.created_count,
        "updated": job.updated_count,
        "errors": len(job.errors),
    }


@get("/manage/{merchant_id:int}/catalog/export.csv")
async def export_csv(
    request: Request[Any, Any, Any], merchant_id: FromPath[int], status: FromQuery[str] = ""
) -> Response[bytes]:
    services = services_of(request)
    data = await csv_import.export_catalog(
        await page_actor(request), services.db, merchant_id, status=status or None
    )
    merchant = await merchants.get_merchant(services.db, merchant_id)
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{merchant.handle}-catalog.csv"',
            "cache-control": "no-store",
        },
    )


routes = [
    catalog_page,
    new_product_page,
    new_product_submit,
    import_page,
    import_submit,
    import_job_page,
    import_job_status,
    export_csv,
    edit_product_page,
    edit_product_submit,
    product_status_submit,
    add_image_submit,
    remove_image_submit,
]
