"""Orders: paying (test card, second step), the shopper's history and order page, and the
merchant's order list, CSV export and order actions (ship, deliver, cancel, refund)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select

from vitrine.accounts import merchants
from vitrine.commerce.models import OrderStatus, PaymentStatus
from vitrine.commerce.payments import PaymentOutcome
from vitrine.core.errors import Conflict, NotFound, ValidationFailed, VitrineError
from vitrine.shows import listing
from vitrine.shows.models import Show, ShowStatus
from vitrine.web.auth import page_actor
from vitrine.web.pages.common import back_to, form_of, render
from vitrine.web.pages.payouts import order_ledger
from vitrine.web.pages.shop import address_of
from vitrine.web.pages.shop_common import json_wanted, platform_of
from vitrine.web.services import Services, services_of

STATUS_LABELS = {
    OrderStatus.PENDING_PAYMENT: "Waiting for payment",
    OrderStatus.PAID: "Paid",
    OrderStatus.FULFILLED: "Shipped",
    OrderStatus.DELIVERED: "Delivered",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.REFUNDED: "Refunded",
    OrderStatus.REFUND_DUE: "Being refunded",
}


# -- paying ------------------------------------------------------------------------------


async def _pay_page(
    request: Request[Any, Any, Any],
    order_id: int,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    refusal: str = "",
    outcome: PaymentOutcome | None = None,
) -> Template:
    services = services_of(request)
    actor = await page_actor(request)
    order = await services.orders.order(actor, order_id)
    if order.buyer_id != actor.user_id:
        raise NotFound("This order does not exist")
    show = None
    if order.show_id is not None:
        card = await listing.get_show(services.db, order.show_id)
        if card.show.status is ShowStatus.LIVE:
            show = card.show
    return await render(
        request,
        "orders/pay.html",
        status=status,
        order=order,
        values=values or {},
        errors=errors or {},
        refusal=refusal,
        outcome=outcome,
        labels=STATUS_LABELS,
        mini_show=show,
        mini_hls=services.hls_url(show) if show is not None else None,
    )


@get("/orders/{order_id:int}/pay")
async def pay_page(request: Request[Any, Any, Any], order_id: FromPath[int]) -> Response[Any]:
    (await page_actor(request)).require_signed_in()
    services = services_of(request)
    order = await services.orders.order(await page_actor(request), order_id)
    if order.status is not OrderStatus.PENDING_PAYMENT:
        return back_to(f"/orders/{order_id}")
    return await _pay_page(request, order_id)


def _outcome_json(outcome: PaymentOutcome) -> dict[str, Any]:
    return {
        "payment_id": outcome.payment_id,
        "payment_status": outcome.payment_status.value,
        "order_id": outcome.order_id,
        "order_status": outcome.order_status.value,
        "message": outcome.message,
        "order_url": f"/orders/{outcome.order_id}",
        "confirm_url": f"/payments/{outcome.payment_id}/confirm",
    }


@post("/orders/{order_id:int}/pay")
async def pay(request: Request[Any, Any, Any], order_id: FromPath[int]) -> Response[Any]:
    return await pay_order(request, order_id)


async def pay_order(request: Request[Any, Any, Any], order_id: int) -> Response[Any]:
    """Set the address when one is sent (a deal's order has none yet), then charge the card."""
    services = services_of(request)
    actor = await page_actor(request)
    values = await form_of(request)
    try:
        if values.get("line1") is not None:
            await services.orders.set_shipping_address(actor, order_id, address_of(values))
        outcome = await services.payments.pay(
            actor,
            order_id,
            card_number=values.get("card_number", ""),
            platform=platform_of(request),
        )
    except ValidationFailed as error:
        if json_wanted(request):
            raise
        values.pop("card_number", None)
        return await _pay_page(
            request, order_id, values=values, errors=dict(error.errors), status=422
        )
    except VitrineError as error:
        if json_wanted(request):
            raise
        values.pop("card_number", None)
        return await _pay_page(
            request, order_id, values=values, status=error.status, refusal=error.detail
        )
    if json_wanted(request):
        return Response(_outcome_json(outcome), status_code=200)
    if outcome.payment_status is PaymentStatus.REQUIRES_ACTION:
        return await _pay_page(request, order_id, outcome=outcome)
    return back_to(f"/orders/{order_id}")


@get("/deals/holds/{hold_id:int}/pay")
async def pay_for_deal(request: Request[Any, Any, Any], hold_id: FromPath[int]) -> Response[Any]:
    """A won deal's way to payment: its order is created now (once), then its pay page."""
    services = services_of(request)
    order_id = await services.deals.order_for_hold(await page_actor(request), hold_id)
    query = f"?{request.url.query}" if request.url.query else ""
    return Redirect(f"/orders/{order_id}/pay{query}", status_code=303)


@post("/deals/holds/{hold_id:int}/pay")
async def pay_deal_now(request: Request[Any, Any, Any], hold_id: FromPath[int]) -> Response[Any]:
    """Paying straight from the deal card: the order is created (once), then charged."""
    services = services_of(request)
    order_id = await services.deals.order_for_hold(await page_actor(request), hold_id)
    return await pay_order(request, order_id)


@post("/payments/{payment_id:int}/confirm")
async def confirm_payment(
    request: Request[Any, Any, Any], payment_id: FromPath[int]
) -> Response[Any]:
    """The shopper finished the card's second step ("confirm with your bank")."""
    services = services_of(request)
    outcome = await services.payments.confirm(await page_actor(request), payment_id)
    if json_wanted(request):
        return Response(_outcome_json(outcome), status_code=200)
    return back_to(f"/orders/{outcome.order_id}")


# -- the shopper's orders ----------------------------------------------------------------


@get("/orders")
async def my_orders(request: Request[Any, Any, Any]) -> Template:
    services = services_of(request)
    orders = await services.orders.my_orders(await page_actor(request))
    return await render(request, "orders/mine.html", orders=orders, labels=STATUS_LABELS)


@get("/orders/{order_id:int}")
async def order_page(request: Request[Any, Any, Any], order_id: FromPath[int]) -> Template:
    services = services_of(request)
    actor = await page_actor(request)
    actor.require_signed_in()
    order = await services.orders.order(actor, order_id)
    return await render(
        request,
        "orders/order.html",
        order=order,
        history=await services.orders.history(actor, order_id),
        labels=STATUS_LABELS,
        mine=order.buyer_id == actor.user_id,
        merchant=await merchants.get_merchant(services.db, order.merchant_id),
    )


@get("/orders/{order_id:int}/status")
async def order_status(
    request: Request[Any, Any, Any], order_id: FromPath[int]
) -> Response[dict[str, str]]:
    """What the order page polls until the payment's webhook has marked it paid."""
    order = await services_of(request).orders.order(await page_actor(request), order_id)
    return Response({"status": order.status.value, "label": STATUS_LABELS[order.status]})


@post("/orders/{order_id:int}/cancel")
async def cancel_order(request: Request[Any, Any, Any], order_id: FromPath[int]) -> Response[Any]:
    await services_of(request).orders.cancel(await page_actor(request), order_id)
    return back_to(f"/orders/{order_id}")


# -- the merchant's orders ---------------------------------------------------------------


def _day(text: str, name: str) -> datetime | None:
    if not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=UTC)
    except ValueError:
        raise ValidationFailed({name: "Use a date such as 2026-11-26"}) from None


def _filters(request: Request[Any, Any, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """The list's filters as typed (to show them again) and as the service takes them."""
    query = request.query_params
    shown = {name: query.get(name, "") for name in ("status", "show", "since", "until")}
    filters: dict[str, Any] = {}
    if shown["status"]:
        try:
            filters["status"] = OrderStatus(shown["status"])
        except ValueError:
            raise ValidationFailed({"status": "Choose a status from the list"}) from None
    if shown["show"]:
        if not shown["show"].isdigit():
            raise ValidationFailed({"show": "Choose a show from the list"})
        filters["show_id"] = int(shown["show"])
    since = _day(shown["since"], "since")
    until = _day(shown["until"], "until")
    if since is not None:
        filters["since"] = since
    if until is not None:
        filters["until"] = until + timedelta(days=1)  # the whole last day
    return shown, filters


async def _shows_of(services: Services, merchant_id: int) -> list[Show]:
    async with services.db.read() as session:
        shows = await session.scalars(
            select(Show)
            .where(Show.merchant_id == merchant_id)
            .order_by(Show.scheduled_start.desc())
            .limit(100)
        )
        return list(shows.all())


@get("/manage/{merchant_id:int}/orders")
async def merchant_orders(request: Request[Any, Any, Any], merchant_id: FromPath[int]) -> Template:
    services = services_of(request)
    actor = await page_actor(request)
    actor.require_manager(merchant_id)
    shown, filters = _filters(request)
    orders = await services.orders.merchant_orders(actor, merchant_id, **filters)
    return await render(
        request,
        "orders/merchant_list.html",
        merchant=await merchants.get_merchant(services.db, merchant_id),
        orders=orders,
        filters=shown,
        query=str(request.url.query or ""),
        shows=await _shows_of(services_of(request), merchant_id),
        statuses=list(OrderStatus),
        labels=STATUS_LABELS,
    )


@get("/manage/{merchant_id:int}/orders.csv")
async def merchant_orders_csv(
    request: Request[Any, Any, Any], merchant_id: FromPath[int]
) -> Response[str]:
    services = services_of(request)
    _, filters = _filters(request)
    text = await services.orders.export_csv(await page_actor(request), merchant_id, **filters)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="orders-{merchant_id}.csv"'},
    )


@get("/manage/{merchant_id:int}/orders/{order_id:int}")
async def merchant_order(
    request: Request[Any, Any, Any], merchant_id: FromPath[int], order_id: FromPath[int]
) -> Template:
    return await _merchant_order_page(request, merchant_id, order_id)


async def _merchant_order_page(
    request: Request[Any, Any, Any],
    merchant_id: int,
    order_id: int,
    *,
    status: int = 200,
    refusal: str = "",
    values: dict[str, str] | None = None,
) -> Template:
    services = services_of(request)
    actor = await page_actor(request)
    actor.require_manager(merchant_id)
    order = await services.orders.order(actor, order_id)
    if order.merchant_id != merchant_id:
        raise NotFound("This order does not exist")
    return await render(
        request,
        "orders/merchant_order.html",
        status=status,
        refusal=refusal,
        values=values or {},
        merchant=await merchants.get_merchant(services.db, merchant_id),
        order=order,
        history=await services.orders.history(actor, order_id),
        ledger=await order_ledger(services.db, order_id),
        labels=STATUS_LABELS,
    )


@post("/manage/{merchant_id:int}/orders/{order_id:int}/{action:str}")
async def merchant_order_action(
    request: Request[Any, Any, Any],
    merchant_id: FromPath[int],
    order_id: FromPath[int],
    action: FromPath[str],
) -> Response[Any]:
    """Ship (with a tracking number), mark delivered, cancel, or refund (restock by default)."""
    services = services_of(request)
    actor = await page_actor(request)
    actor.require_manager(merchant_id)
    order = await services.orders.order(actor, order_id)
    if order.merchant_id != merchant_id:
        raise NotFound("This order does not exist")
    values = await form_of(request)
    try:
        if action == "fulfil":
            await services.orders.fulfil(
                actor, order_id, tracking_number=values.get("tracking_number", "")
            )
        elif action == "delivered":
            await services.orders.mark_delivered(actor, order_id)
        elif action == "cancel":
            await services.orders.cancel(actor, order_id)
        elif action == "refund":
            # an unticked box sends nothing: the form also sends restock_sent
            restock = values.get("restock") == "1" or "restock_sent" not in values
            await services.orders.refund(actor, order_id, restock=restock)
        else:
            raise NotFound("No such action on an order")
    except (ValidationFailed, Conflict) as error:
        said = (
            "; ".join(error.errors.values())
            if isinstance(error, ValidationFailed)
            else error.detail
        )
        return await _merchant_order_page(
            request, merchant_id, order_id, status=error.status, refusal=said, values=values
        )
    return back_to(f"/manage/{merchant_id}/orders/{order_id}")


routes = [
    pay_page,
    pay,
    pay_for_deal,
    pay_deal_now,
    confirm_payment,
    my_orders,
    order_page,
    order_status,
    cancel_order,
    merchant_orders,
    merchant_orders_csv,
    merchant_order,
    merchant_order_action,
]
