"""REST API v1 for partners. Reads of public data need no token; changes need a merchant's
API token (`Authorization: Bearer vtr_…`). Errors are application/problem+json."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, patch, post
from litestar.enums import MediaType
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.params import FromPath, JSONBody

from vitrine.accounts import merchants
from vitrine.accounts.models import MerchantStatus
from vitrine.catalog import products
from vitrine.catalog.drafts import ProductDraft
from vitrine.catalog.queries import shop_products
from vitrine.catalog.views import as_json
from vitrine.core.errors import NotFound
from vitrine.shows import listing, schedule
from vitrine.web.api.schemas import (
    MerchantOut,
    ProductSummaryOut,
    ShowIn,
    ShowOut,
    merchant_out,
    product_summary_out,
    show_out,
)
from vitrine.web.auth import api_actor, api_token_required
from vitrine.web.errors import problem
from vitrine.web.services import services_of

SECURITY: list[dict[str, list[str]]] = [{"apiToken": []}]
TOKEN = [api_token_required]  # with SECURITY on every route that needs a merchant's token


def _base(request: Request[Any, Any, Any]) -> str:
    return services_of(request).settings.base_url


async def _approved(request: Request[Any, Any, Any], handle: FromPath[str]) -> Any:
    merchant = await merchants.merchant_by_handle(services_of(request).db, handle)
    actor = await api_actor(request)
    if merchant.status is not MerchantStatus.APPROVED and not actor.works_for(merchant.id):
        raise NotFound(f"No brand called @{handle}")
    return merchant


@get("/merchants", summary="Approved brands")
async def list_merchants(request: Request[Any, Any, Any]) -> list[MerchantOut]:
    found = await merchants.list_merchants(services_of(request).db, status=MerchantStatus.APPROVED)
    return [merchant_out(merchant, _base(request)) for merchant in found]


@get("/merchants/{handle:str}", summary="One brand")
async def get_merchant(request: Request[Any, Any, Any], handle: FromPath[str]) -> MerchantOut:
    return merchant_out(await _approved(request, handle), _base(request))


@get("/merchants/{handle:str}/products", summary="A brand's active products")
async def list_products(
    request: Request[Any, Any, Any], handle: FromPath[str]
) -> list[ProductSummaryOut]:
    merchant = await _approved(request, handle)
    items = await shop_products(services_of(request).db, merchant.id, limit=500)
    return [product_summary_out(item, _base(request)) for item in items]


@get("/merchants/{handle:str}/shows", summary="A brand's shows, newest first")
async def list_shows(request: Request[Any, Any, Any], handle: FromPath[str]) -> list[ShowOut]:
    merchant = await _approved(request, handle)
    found = await listing.shows_of_merchant(services_of(request).db, merchant.id)
    return [show_out(show, merchant.handle, _base(request)) for show in found]


@get("/shows/{show_id:int}", summary="One show")
async def get_show(request: Request[Any, Any, Any], show_id: FromPath[int]) -> ShowOut:
    card = await listing.get_show(services_of(request).db, show_id)
    await _approved(request, card.merchant.handle)
    return show_out(card.show, card.merchant.handle, _base(request))


@post("/merchants/{handle:str}/products", summary="Add a product", security=SECURITY, guards=TOKEN)
async def create_product(
    request: Request[Any, Any, Any], handle: FromPath[str], data: JSONBody[ProductDraft]
) -> dict[str, Any]:
    services = services_of(request)
    merchant = await merchants.merchant_by_handle(services.db, handle)
    view = await products.create_product(await api_actor(request), services.db, merchant.id, data)
    return as_json(view)


@get(
    "/products/{product_id:int}",
    summary="One product of the token's brand",
    security=SECURITY,
    guards=TOKEN,
)
async def get_product(request: Request[Any, Any, Any], product_id: FromPath[int]) -> dict[str, Any]:
    services = services_of(request)
    return as_json(await products.get_product(await api_actor(request), services.db, product_id))


@patch(
    "/products/{product_id:int}",
    summary="Replace a product and its variants",
    security=SECURITY,
    guards=TOKEN,
)
async def update_product(
    request: Request[Any, Any, Any], product_id: FromPath[int], data: JSONBody[ProductDraft]
) -> dict[str, Any]:
    services = services_of(request)
    view = await products.update_product(await api_actor(request), services.db, product_id, data)
    return as_json(view)


@post(
    "/products/{product_id:int}/archive",
    summary="Archive a product",
    security=SECURITY,
    guards=TOKEN,
)
async def archive_product(
    request: Request[Any, Any, Any], product_id: FromPath[int]
) -> dict[str, Any]:
    services = services_of(request)
    view = await products.archive_product(await api_actor(request), services.db, product_id)
    return as_json(view)


def _draft(data: ShowIn) -> schedule.ShowDraft:
    return schedule.ShowDraft(
        title=data.title,
        description=data.description,
        starts_local=data.starts_at,
        expected_minutes=data.expected_minutes,
        product_ids=None if data.product_ids is None else tuple(data.product_ids),
        host_emails=None if data.host_emails is None else tuple(data.host_emails),
    )


@post("/merchants/{handle:str}/shows", summary="Schedule a show", security=SECURITY, guards=TOKEN)
async def create_show(
    request: Request[Any, Any, Any], handle: FromPath[str], data: JSONBody[ShowIn]
) -> ShowOut:
    services = services_of(request)
    actor = await api_actor(request)
    merchant = await merchants.merchant_by_handle(services.db, handle)
    show = await schedule.schedule_show(services.db, actor, merchant.id, _draft(data))
    return show_out(show, merchant.handle, _base(request))


@patch(
    "/shows/{show_id:int}",
    summary="Reschedule a show that has not started",
    security=SECURITY,
    guards=TOKEN,
)
async def update_show(
    request: Request[Any, Any, Any], show_id: FromPath[int], data: JSONBody[ShowIn]
) -> ShowOut:
    services = services_of(request)
    show = await schedule.reschedule_show(
        services.db, await api_actor(request), show_id, _draft(data)
    )
    card = await listing.get_show(services.db, show.id)
    return show_out(card.show, card.merchant.handle, _base(request))


@post(
    "/shows/{show_id:int}/cancel",
    summary="Cancel a show that has not started",
    security=SECURITY,
    guards=TOKEN,
)
async def cancel_show(request: Request[Any, Any, Any], show_id: FromPath[int]) -> ShowOut:
    services = services_of(request)
    show = await schedule.cancel_show(services.db, await api_actor(request), show_id)
    await services.streams.sync()
    await services.notifier.show_changed(show)
    card = await listing.get_show(services.db, show_id)
    return show_out(card.show, card.merchant.handle, _base(request))


def handlers() -> list[Any]:
    return [
        list_merchants,
        get_merchant,
        list_products,
        list_shows,
        get_show,
        create_show,
        update_show,
        cancel_show,
        create_product,
        get_product,
        update_product,
        archive_product,
    ]


def _problem_not_html(response: Response[Any]) -> Response[Any]:
    """Litestar answers an unknown document path under /api/v1 with an HTML page; partners'
    scripts get a problem document there too, like everywhere else in the API."""
    if response.status_code == 404 and response.media_type == MediaType.HTML:
        return problem(404, "Not found", "No such API document; the schema is at openapi.json")
    return response


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Vitrine API",
        version="1",
        path="/api/v1",
        openapi_router=Router("/api/v1", route_handlers=[], after_request=_problem_not_html),
        # Only the documents (JSON, YAML): the browsable UIs load scripts from CDNs.
        render_plugins=[YamlRenderPlugin()],
        components=Components(
            security_schemes={
                "apiToken": SecurityScheme(
                    type="http", scheme="bearer", description="A merchant's API token (vtr_…)"
                )
            }
        ),
    )
