"""Buying while watching: the live page's shop (lineup, product sheets), flash-deal taps, the
cart and checkout, and the counted click to a merchant's own product page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select

from vitrine.accounts.models import MerchantStatus
from vitrine.catalog.models import Variant, variant_label
from vitrine.catalog.queries import ShopItem, shop_products
from vitrine.commerce.address import ShippingAddress
from vitrine.commerce.on_air import live_deals
from vitrine.core.errors import NotFound, ValidationFailed, VitrineError
from vitrine.core.money import format_amount
from vitrine.shows import listing
from vitrine.shows.listing import ShowCard
from vitrine.shows.models import ShowStatus
from vitrine.web.auth import buyer_actor, page_actor
from vitrine.web.pages.common import back_to, form_of, int_field, render
from vitrine.web.pages.shop_common import (
    cart_token,
    idempotency_key,
    json_wanted,
    keep_cart_cookie,
    may_buy_here,
    new_cart_token,
    platform_of,
    watch_only_message,
)
from vitrine.web.services import services_of

ADDRESS_FIELDS = ("name", "line1", "line2", "postal_code", "city", "country")


@dataclass(frozen=True, slots=True)
class SheetVariant:
    id: int
    label: str
    price_text: str
    compare_at_text: str
    stock: int


@dataclass(frozen=True, slots=True)
class SheetProduct:
    item: ShopItem
    variants: tuple[SheetVariant, ...]


def address_of(values: dict[str, str]) -> ShippingAddress:
    return ShippingAddress(**{name: values.get(name, "") for name in ADDRESS_FIELDS})


async def _sheet_products(request: Request[Any, Any, Any], card: ShowCard) -> list[SheetProduct]:
    """The show's lineup, each product with its variants as the sheet shows them."""
    services = services_of(request)
    actor = await page_actor(request)
    if card.merchant.status is not MerchantStatus.APPROVED and not actor.works_for(
        card.merchant.id
    ):
        raise NotFound(f"No show #{card.show.id}")
    items = await shop_products(services.db, card.merchant.id, show_id=card.show.id)
    async with services.db.read() as session:
        variants = (
            await session.scalars(
                select(Variant)
                .where(Variant.product_id.in_([item.product.id for item in items]))
                .order_by(Variant.position, Variant.id)
            )
        ).all()
    by_product: dict[int, list[SheetVariant]] = {}
    currency = {item.product.id: item.product.currency for item in items}
    for variant in variants:
        code = currency[variant.product_id]
        by_product.setdefault(variant.product_id, []).append(
            SheetVariant(
                id=variant.id,
                label=variant_label(variant.options),
                price_text=format_amount(variant.price, code),
                compare_at_text=(
                    format_amount(variant.compare_at_price, code)
                    if variant.compare_at_price is not None
                    else ""
                ),
                stock=variant.stock,
            )
        )
    return [SheetProduct(item, tuple(by_product.get(item.product.id, []))) for item in items]


@get("/shows/{show_id:int}/shop")
async def show_shop(request: Request[Any, Any, Any], show_id: FromPath[int]) -> Template:
    """The Shop tab's content: every product of the show, each with its sheet."""
    services = services_of(request)
    card = await listing.get_show(services.db, show_id)
    products = await _sheet_products(request, card)
    deals = await live_deals(services.db, show_id) if card.show.status is ShowStatus.LIVE else []
    return await render(
        request,
        "shop/_lineup.html",
        show=card.show,
        products=products,
        deals={int(deal.product_id): deal for deal in deals},
        may_buy=may_buy_here(request),
        watch_only=watch_only_message(request),
        live=card.show.status is ShowStatus.LIVE,
    )


@get("/shows/{show_id:int}/products/{product_id:int}/visit")
async def visit_product(
    request: Request[Any, Any, Any], show_id: FromPath[int], product_id: FromPath[int]
) -> Redirect:
    """The merchant's own page for a product, counted for the show (opened in a new tab)."""
    services = services_of(request)
    url = await services.clicks.open_external(await page_actor(request), show_id, product_id)
    return Redirect(url, status_code=303)


@post("/deals/{deal_id:int}/buy")
async def buy_in_deal(request: Request[Any, Any, Any], deal_id: FromPath[int]) -> Response[Any]:
    """One tap on a deal's Buy: the same idempotency key always gets the same answer."""
    services = services_of(request)
    values = await form_of(request)
    purchase = await services.deals.buy(
        await buyer_actor(request),
        deal_id,
        idempotency_key=values.get("idempotency_key", ""),
        platform=platform_of(request),
    )
    if json_wanted(request):
        return Response(
            {
                "hold_id": purchase.hold_id,
                "order_id": purchase.order_id,
                "deal_id": purchase.deal_id,
                "quantity": purchase.quantity,
                "total": purchase.total,
                "total_text": format_amount(purchase.total, purchase.currency),
                "currency": purchase.currency,
                "hold_expires_at": purchase.hold_expires_at.isoformat(),
                "pay_url": purchase.pay_url,
            },
            status_code=201,
        )
    return back_to(purchase.pay_url)


# -- the cart ----------------------------------------------------------------------------


@post("/cart/add")
async def add_to_cart(request: Request[Any, Any, Any]) -> Response[Any]:
    services = services_of(request)
    actor = await page_actor(request)
    values = await form_of(request)
    variant_id = int_field(values, "variant_id", label="The variant")
    quantity = int_field(values, "quantity", label="Quantity") if values.get("quantity") else 1
    show_id = int(values["show_id"]) if values.get("show_id", "").isdigit() else None
    token = None if actor.signed_in else (cart_token(request) or new_cart_token())
    cart = await services.carts.add(
        actor, variant_id, quantity=quantity, guest_token=token, show_id=show_id
    )
    target = values.get("then", "")
    next_url = f"/checkout?show={show_id}" if target == "checkout" and show_id else "/checkout"
    response: Response[Any]
    if json_wanted(request):
        response = Response(
            {"count": cart.count, "cart_url": "/cart", "checkout_url": next_url}, status_code=200
        )
    else:
        response = back_to(next_url if target == "checkout" else "/cart")
    if token is not None:
        keep_cart_cookie(request, response, token)
    return response


@get("/cart")
async def cart_page(request: Request[Any, Any, Any]) -> Template:
    services = services_of(request)
    actor = await page_actor(request)
    cart = await services.carts.view(actor, guest_token=cart_token(request))
    return await render(request, "shop/cart.html", cart=cart, may_buy=may_buy_here(request))


@get("/cart/count")
async def cart_count(request: Request[Any, Any, Any]) -> Response[dict[str, int]]:
    services = services_of(request)
    cart = await services.carts.view(await page_actor(request), guest_token=cart_token(request))
    return Response({"count": cart.count})


@post("/cart/quantity")
async def set_cart_quantity(request: Request[Any, Any, Any]) -> Response[Any]:
    services = services_of(request)
    values = await form_of(request)
    variant_id = int_field(values, "variant_id", label="The variant")
    quantity = int_field(values, "quantity", label="Quantity")
    await services.carts.set_quantity(
        await page_actor(request), variant_id, quantity, guest_token=cart_token(request)
    )
    return back_to("/cart")


# -- checkout ----------------------------------------------------------------------------


async def _checkout_page(
    request: Request[Any, Any, Any],
    *,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
    refusal: str = "",
) -> Template:
    services = services_of(request)
    actor = await page_actor(request)
    summaries = await services.checkout.summary(actor)
    show = None
    show_id = values.get("show", "")
    if show_id.isdigit():
        try:
            card = await listing.get_show(services.db, int(show_id))
        except NotFound:
            card = None
        if card is not None and card.show.status is ShowStatus.LIVE:
            show = card.show
    values.setdefault("idempotency_key", idempotency_key())
    return await render(
        request,
        "shop/checkout.html",
        status=status,
        summaries=summaries,
        values=values,
        errors=errors or {},
        refusal=refusal,
        may_buy=may_buy_here(request),
        watch_only=watch_only_message(request),
        mini_show=show,
        mini_hls=services.hls_url(show) if show is not None else None,
    )


@get("/checkout")
async def checkout_page(request: Request[Any, Any, Any]) -> Response[Any]:
    show = request.query_params.get("show", "")
    if not (await page_actor(request)).signed_in:
        # log in, come back here (with the show's mini-player): the guest cart is kept
        here = f"/checkout?show={show}" if show.isdigit() else "/checkout"
        return Redirect(f"/login?next={quote(here, safe='/')}", status_code=303)
    return await _checkout_page(request, values={"show": show})


@post("/checkout")
async def place_order(request: Request[Any, Any, Any]) -> Response[Any]:
    services = services_of(request)
    actor = await page_actor(request)
    values = await form_of(request)
    try:
        placed = await services.checkout.place_order(
            actor,
            address=address_of(values),
            idempotency_key=values.get("idempotency_key", ""),
            platform=platform_of(request),
        )
    except ValidationFailed as error:
        return await _checkout_page(request, values=values, errors=dict(error.errors), status=422)
    except VitrineError as error:  # sold out, no longer on sale, watch-only: said on the page
        return await _checkout_page(
            request, values=values, status=error.status, refusal=error.detail
        )
    if not placed:
        return back_to("/cart")
    show = values.get("show", "")
    suffix = f"?show={show}" if show.isdigit() else ""
    if len(placed) == 1:
        return back_to(f"/orders/{placed[0].order_id}/pay{suffix}")
    return back_to("/orders?placed=" + ",".join(str(order.order_id) for order in placed))


routes = [
    show_shop,
    visit_product,
    buy_in_deal,
    add_to_cart,
    cart_page,
    cart_count,
    set_cart_quantity,
    checkout_page,
    place_order,
]
