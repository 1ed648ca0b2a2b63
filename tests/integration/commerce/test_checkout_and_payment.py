import json

import pytest
from sqlalchemy import select, update

from tests.integration.commerce.shop import HOME, Shop, open_shop
from vitrine.accounts.actor import Actor
from vitrine.catalog.models import Product, ProductStatus
from vitrine.commerce.address import ShippingAddress
from vitrine.commerce.checkout import ORDERS_BURST, CheckoutService
from vitrine.commerce.errors import (
    BuyingNotAvailable,
    PaymentDeclined,
    ProductUnavailable,
    SoldOut,
    WebhookRefused,
)
from vitrine.commerce.gateway import TestCards
from vitrine.commerce.models import (
    LedgerEntry,
    LedgerKind,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Reservation,
    ReservationStatus,
    WebhookDelivery,
)
from vitrine.commerce.orders import OrderService
from vitrine.commerce.policy import BuyingPolicy
from vitrine.core.db import Database
from vitrine.core.errors import Conflict, RateLimited, ValidationFailed
from vitrine.core.ratelimit import MemoryRateLimiter


async def cart_checkout(
    shop: Shop, shopper: Actor, quantity: int = 2, key: str = "checkout-1"
) -> int:
    await shop.carts.add(shopper, shop.variant_id, quantity=quantity, show_id=shop.show_id)
    (placed,) = await shop.checkout.place_order(
        shopper, address=HOME, idempotency_key=key, platform="desktop"
    )
    return placed.order_id


async def ledger(db: Database, order_id: int) -> list[tuple[LedgerKind, int]]:
    async with db.read() as session:
        entries = await session.scalars(
            select(LedgerEntry).where(LedgerEntry.order_id == order_id).order_by(LedgerEntry.id)
        )
        return [(LedgerKind(e.kind), e.amount) for e in entries]


async def order_status(db: Database, order_id: int) -> OrderStatus:
    async with db.read() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        return OrderStatus(order.status)


async def test_checkout_totals_add_shipping_and_tax_and_hold_the_stock(db: Database) -> None:
    shop = await open_shop(db, stock=5, price=4_000, shipping_flat=490, tax_bps=2_000)
    (shopper,) = await shop.add_shoppers(1)
    await shop.carts.add(shopper, shop.variant_id, quantity=2, show_id=shop.show_id)

    (summary,) = await shop.checkout.summary(shopper)
    (placed,) = await shop.checkout.place_order(
        shopper, address=HOME, idempotency_key="c1", platform="ios"
    )

    assert (summary.totals.subtotal, summary.totals.shipping, summary.totals.tax) == (
        8_000,
        490,
        1_600,
    )
    assert summary.totals.total == placed.totals.total == 10_090
    assert placed.hold_expires_at == shop.clock.now.replace(minute=10)
    assert await shop.stock() == 3
    assert shop.announcer.stock == [(shop.show_id, shop.variant_id, 3)]
    assert (await shop.carts.view(shopper)).lines == ()
    view = await shop.orders.order(shopper, placed.order_id)
    assert (view.status, view.show_id, view.address) == (
        OrderStatus.PENDING_PAYMENT,
        shop.show_id,
        HOME,
    )


async def test_paying_with_the_success_card_pays_the_order_and_writes_the_commission(
    db: Database,
) -> None:
    shop = await open_shop(db, commission_bps=1_000)
    (shopper,) = await shop.add_shoppers(1)
    order_id = await cart_checkout(shop, shopper)

    outcome = await shop.payments.pay(
        shopper, order_id, card_number="4242 4242 4242 4242", platform="ios"
    )

    assert (outcome.payment_status, outcome.order_status) == (
        PaymentStatus.SUCCEEDED,
        OrderStatus.PAID,
    )
    assert await ledger(db, order_id) == [
        (LedgerKind.GROSS, 10_090),
        (LedgerKind.COMMISSION, 1_009),
        (LedgerKind.PAYABLE, 9_081),
    ]
    async with db.read() as session:
        holds = (await session.scalars(select(Reservation.status))).all()
    assert holds == [ReservationStatus.CONVERTED]
    # The gateway's webhook arrives afterwards and changes nothing.
    (body, signature) = shop.gateway.outbox[-1]
    assert await shop.payments.handle_webhook(body, signature) == "processed"
    assert len(await ledger(db, order_id)) == 3
    assert [e.kind for e in await shop.orders.history(shopper, order_id)] == ["placed", "paid"]


async def test_a_declined_card_leaves_the_order_open_for_another_card(db: Database) -> None:
    shop = await open_shop(db)
    (shopper,) = await shop.add_shoppers(1)
    order_id = await cart_checkout(shop, shopper)

    with pytest.raises(PaymentDeclined, match="Your card was declined; try another card"):
        await shop.payments.pay(shopper, order_id, card_number=TestCards.DECLINED, platform="ios")
    assert await order_status(db, order_id) == OrderStatus.PENDING_PAYMENT
    assert await ledger(db, order_id) == []

    outcome = await shop.payments.pay(
        shopper, order_id, card_number=TestCards.SUCCEEDS, platform="ios"
    )
    assert outcome.order_status == OrderStatus.PAID


async def test_a_card_needing_a_second_step_is_paid_when_the_webhook_confirms_it(
    db: Database,
) -> None:
    shop = await open_shop(db)
    (shopper,) = await shop.add_shoppers(1)
    order_id = await cart_checkout(shop, shopper)

    first = await shop.payments.pay(
        shopper, order_id, card_number="4000 0027 6000 3184", platform="ios"
    )
    assert (first.payment_status, first.order_status) == (
        PaymentStatus.REQUIRES_ACTION,
        OrderStatus.PENDING_PAYMENT,
    )
    assert shop.gateway.outbox == []

    # The shopper confirms with their bank; the gateway's answer comes back by webhook.
    await shop.gateway.confirm(reference=await payment_reference(db, first.payment_id))
    (body, signature) = shop.gateway.outbox[-1]
    assert await shop.payments.handle_webhook(body, signature) == "processed"

    assert await order_status(db, order_id) == OrderStatus.PAID
    assert len(await ledger(db, order_id)) == 3


async def payment_reference(db: Database, payment_id: int) -> str:
    async with db.read() as session:
        payment = await session.get(Payment, payment_id)
        assert payment is not None
        return payment.reference


async def test_a_replayed_webhook_is_harmless(db: Database) -> None:
    shop = await open_shop(db)
    (shopper,) = await shop.add_shoppers(1)
    order_id = await cart_checkout(shop, shopper)
    first = await shop.payments.pay(
        shopper, order_id, card_number=TestCards.NEEDS_CONFIRMATION, platform="ios"
    )
    await shop.gateway.confirm(reference=await payment_reference(db, first.payment_id))
    (body, signature) = shop.gateway.outbox[-1]

    assert await shop.payments.handle_webhook(body, signature) == "processed"
    assert await shop.payments.handle_webhook(body, signature) == "duplicate"
    assert await shop.payments.handle_webhook(body, signature) == "duplicate"

    assert len(await ledger(db, order_id)) == 3
    async with db.read() as session:
        assert len((await session.scalars(select(WebhookDelivery))).all()) == 1


async def test_a_forged_or_stale_webhook_is_refused(db: Database) -> None:
    shop = await open_shop(db)
    (shopper,) = await shop.add_shoppers(1)
    order_id = await cart_checkout(shop, shopper)
    first = await shop.payments.pay(
        shopper, order_id, card_number=TestCards.NEEDS_CONFIRMATION, platform="ios"
    )
    reference = await payment_reference(db, first.payment_id)
    body = json.dumps(
        {"id": "evt_forged", "type": "payment.succeeded", "reference": reference}
    ).encode()
    timestamp = int(shop.clock.now.timestamp())

    with pytest.raises(WebhookRefused, match="signature does not match"):
        await shop.payments.handle_webhook(body, f"t={timestamp},v1={'0' * 64}")
    with pytest.raises(WebhookRefused, match="signature does not match"):
        tampered = body.replace(b"evt_forged", b"evt_other")
        await shop.payments.handle_webhook(tampered, shop.gateway.sign(body))
    with pytest.raises(WebhookRefused, match="too old"):
        stale = shop.gateway.sign(body, at=shop.clock.now.replace(hour=17, minute=54))
        await shop.payments.handle_webhook(body, stale)

    assert await order_status(db, order_id) == OrderStatus.PENDING_PAYMENT
    assert await ledger(db, order_id) == []


async def test_a_hold_that_expired_is_taken_again_when_the_stock_is_still_there(
    db: Database,
) -> None:
    shop = await open_shop(db, stock=5)
    (shopper,) = await shop.add_shoppers(1)
    order_id = await cart_checkout(shop, shopper, quantity=2)
    shop.clock.advance(minutes=11)
    assert await shop.reservations.release_expired() == 1
    assert await shop.stock() == 5
    assert shop.announcer.stock[-1] == (None, shop.variant_id, 5)

    outcome = await shop.payments.pay(
        shopper, order_id, card_number=TestCards.SUCCEEDS, platform="ios"
    )

    assert outcome.order_status == OrderStatus.PAID
    assert await shop.stock() == 3
    kinds = [e.kind for e in await shop.orders.history(shopper, order_id)]
    assert kinds == ["placed", "hold_expired", "paid"]


async def test_a_hold_that_expired_and_sold_out_meanwhile_is_refunded_not_lost(
    db: Database,
) -> None:
    shop = await open_shop(db, stock=2)
    late, quick = await shop.add_shoppers(2)
    order_id = await cart_checkout(shop, late, quantity=2)
    shop.clock.advance(minutes=11)
    await shop.reservations.release_expired()
    await cart_checkout(shop, quick, quantity=2, key="quick")

    outcome = await shop.payments.pay(
        late, order_id, card_number=TestCards.SUCCEEDS, platform="ios"
    )

    assert outcome.order_status == OrderStatus.REFUNDED
    assert "sold out" in outcome.message
    assert await shop.stock() == 0  # the other shopper's hold is untouched
    assert await ledger(db, order_id) == []
    async with db.read() as session:
        payment = await session.get(Payment, outcome.payment_id)
    assert payment is not None and payment.status == PaymentStatus.REFUNDED
    assert shop.gateway.outbox[-1][0].count(b"payment.refunded") == 1
    kinds = [e.kind for e in await shop.orders.history(late, order_id)]
    assert kinds == ["placed", "hold_expired", "refund_due", "refunded"]


async def test_a_cart_holding_an_archived_product_is_refused_naming_it(db: Database) -> None:
    shop = await open_shop(db)
    (shopper,) = await shop.add_shoppers(1)
    await shop.carts.add(shopper, shop.variant_id, quantity=1)
    async with db.write() as tx:
        await tx.session.execute(
            update(Product)
            .where(Product.id == shop.product_id)
            .values(status=ProductStatus.ARCHIVED)
        )

    with pytest.raises(ProductUnavailable) as refused:
        await shop.checkout.place_order(shopper, address=HOME, idempotency_key="k", platform="ios")

    assert str(refused.value) == "“Silk scarf” is no longer on sale; remove it to continue"
    assert await shop.stock() == 10
    with pytest.raises(ProductUnavailable, match="“Silk scarf” is no longer on sale"):
        await shop.carts.add(shopper, shop.variant_id)


async def test_checkout_never_takes_more_than_the_stock(db: Database) -> None:
    shop = await open_shop(db, stock=3)
    (shopper,) = await shop.add_shoppers(1)
    await shop.carts.add(shopper, shop.variant_id, quantity=4)

    with pytest.raises(SoldOut, match="Only 3 left of “Silk scarf”"):
        await shop.checkout.place_order(shopper, address=HOME, idempotency_key="k", platform="ios")

    assert await shop.stock() == 3
    async with db.read() as session:
        assert (await session.scalars(select(Order))).all() == []


async def test_placing_the_same_checkout_twice_returns_the_same_order(db: Database) -> None:
    shop = await open_shop(db)
    (shopper,) = await shop.add_shoppers(1)
    await shop.carts.add(shopper, shop.variant_id, quantity=1)

    first = await shop.checkout.place_order(
        shopper, address=HOME, idempotency_key="k", platform="ios"
    )
    again = await shop.checkout.place_order(
        shopper, address=HOME, idempotency_key="k", platform="ios"
    )

    assert [p.order_id for p in first] == [p.order_id for p in again]
    assert await shop.stock() == 9


async def test_a_bad_address_is_refused_field_by_field(db: Database) -> None:
    shop = await open_shop(db)
    (shopper,) = await shop.add_shoppers(1)
    await shop.carts.add(shopper, shop.variant_id)
    bad = ShippingAddress(
        name=" ", line1="1 Main St", postal_code="", city="Paris", country="France"
    )

    with pytest.raises(ValidationFailed) as refused:
        await shop.checkout.place_order(shopper, address=bad, idempotency_key="k", platform="ios")

    assert refused.value.errors == {
        "name": "Required for delivery",
        "postal_code": "Required for delivery",
        "country": "Use the two-letter country code, such as FR or US",
    }


async def test_android_is_watch_only_when_the_setting_says_so(db: Database) -> None:
    shop = await open_shop(db, buying=BuyingPolicy(("ios", "desktop")))
    (shopper,) = await shop.add_shoppers(1)
    await shop.carts.add(shopper, shop.variant_id)

    with pytest.raises(BuyingNotAvailable) as refused:
        await shop.checkout.place_order(
            shopper, address=HOME, idempotency_key="k", platform="android"
        )

    assert str(refused.value) == "Buying is not available on Android yet; you can keep watching"
    assert await shop.stock() == 10


async def test_a_guest_cart_is_kept_when_the_guest_signs_in(db: Database) -> None:
    shop = await open_shop(db)
    (shopper,) = await shop.add_shoppers(1)
    await shop.carts.add(shopper, shop.variant_id, quantity=1)
    guest = Actor()
    await shop.carts.add(guest, shop.variant_id, quantity=2, guest_token="cookie-token")

    merged = await shop.carts.merge_guest_cart(shopper.user_id or 0, "cookie-token")

    assert [(line.variant_id, line.quantity) for line in merged.lines] == [(shop.variant_id, 3)]
    assert (await shop.carts.view(guest, guest_token="cookie-token")).lines == ()


async def test_fulfil_deliver_then_refund_reverses_the_ledger_and_restocks(db: Database) -> None:
    shop = await open_shop(db, stock=5)
    (shopper,) = await shop.add_shoppers(1)
    order_id = await cart_checkout(shop, shopper, quantity=2)
    await shop.payments.pay(shopper, order_id, card_number=TestCards.SUCCEEDS, platform="ios")

    with pytest.raises(ValidationFailed):
        await shop.orders.fulfil(shop.owner, order_id, tracking_number=" ")
    await shop.orders.fulfil(shop.owner, order_id, tracking_number="1Z999AA10123456784")
    delivered = await shop.orders.mark_delivered(shop.owner, order_id)
    assert (delivered.status, delivered.tracking_number) == (
        OrderStatus.DELIVERED,
        "1Z999AA10123456784",
    )
    assert await shop.stock() == 3

    refunded = await shop.orders.refund(shop.owner, order_id)

    assert refunded.status == OrderStatus.REFUNDED
    assert await shop.stock() == 5
    assert await ledger(db, order_id) == [
        (LedgerKind.GROSS, 10_090),
        (LedgerKind.COMMISSION, 1_009),
        (LedgerKind.PAYABLE, 9_081),
        (LedgerKind.GROSS, -10_090),
        (LedgerKind.COMMISSION, -1_009),
        (LedgerKind.PAYABLE, -9_081),
    ]
    with pytest.raises(Conflict):
        await shop.orders.refund(shop.owner, order_id)
    kinds = [e.kind for e in await shop.orders.history(shop.owner, order_id)]
    assert kinds == ["placed", "paid", "fulfilled", "delivered", "refunded"]


async def test_a_shopper_cancels_before_paying_and_the_stock_comes_back(db: Database) -> None:
    shop = await open_shop(db, stock=5)
    (shopper,) = await shop.add_shoppers(1)
    order_id = await cart_checkout(shop, shopper, quantity=2)

    cancelled = await shop.orders.cancel(shopper, order_id)

    assert cancelled.status == OrderStatus.CANCELLED
    assert await shop.stock() == 5
    with pytest.raises(Conflict):
        await shop.payments.pay(shopper, order_id, card_number=TestCards.SUCCEEDS, platform="ios")


async def test_payout_report_and_platform_totals(db: Database) -> None:
    shop = await open_shop(db, stock=10, commission_bps=1_000)
    one, two = await shop.add_shoppers(2)
    first = await cart_checkout(shop, one, quantity=1, key="a")
    second = await cart_checkout(shop, two, quantity=1, key="b")
    await shop.payments.pay(one, first, card_number=TestCards.SUCCEEDS, platform="ios")
    await shop.payments.pay(two, second, card_number=TestCards.SUCCEEDS, platform="ios")
    await shop.orders.refund(shop.owner, second)
    start, end = shop.clock.now.replace(hour=0), shop.clock.now.replace(hour=23)

    report = await shop.ledger.payout_report(shop.owner, shop.merchant_id, start, end)
    operator = Actor(999, "Operator", is_operator=True)
    totals = await shop.ledger.platform_totals(operator, start, end)

    # One order of 40.00 + 4.90 shipping + 8.00 tax stands; the refunded one nets to zero.
    (line,) = report.lines
    assert (line.currency, line.gross, line.commission, line.payable) == ("EUR", 5_290, 529, 4_761)
    assert totals.lines == report.lines and totals.merchants == 1


async def test_the_merchant_lists_and_exports_orders(db: Database) -> None:
    shop = await open_shop(db)
    (shopper,) = await shop.add_shoppers(1)
    paid = await cart_checkout(shop, shopper, quantity=1, key="a")
    await shop.payments.pay(shopper, paid, card_number=TestCards.SUCCEEDS, platform="ios")
    await cart_checkout(shop, shopper, quantity=1, key="b")
    orders: OrderService = shop.orders

    listed = await orders.merchant_orders(shop.owner, shop.merchant_id, status=OrderStatus.PAID)
    csv_text = await orders.export_csv(shop.owner, shop.merchant_id, show_id=shop.show_id)

    assert [o.id for o in listed] == [paid]
    rows = csv_text.strip().splitlines()
    assert rows[0].startswith("order,created_at,status,show,sku,product,quantity")
    assert len(rows) == 3
    assert ",paid," in rows[2] and ",40.00,52.90,EUR,Ada Lovelace,Paris,FR," in rows[2]
    assert [o.id for o in await orders.my_orders(shopper)] == [paid + 1, paid]


async def test_a_second_tap_on_pay_during_a_charge_is_refused_not_charged_twice(
    db: Database,
) -> None:
    shop = await open_shop(db)
    (shopper,) = await shop.add_shoppers(1)
    order_id = await cart_checkout(shop, shopper)
    first = await shop.payments.pay(
        shopper, order_id, card_number=TestCards.NEEDS_CONFIRMATION, platform="ios"
    )

    with pytest.raises(Conflict, match="A payment for this order is already in progress"):
        await shop.payments.pay(shopper, order_id, card_number=TestCards.SUCCEEDS, platform="ios")

    confirmed = await shop.payments.confirm(shopper, first.payment_id)
    assert confirmed.order_status == OrderStatus.PAID
    async with db.read() as session:
        assert len((await session.scalars(select(Payment))).all()) == 1


async def test_orders_left_unpaid_after_their_hold_expired_are_cancelled_later(
    db: Database,
) -> None:
    shop = await open_shop(db, stock=5)
    (shopper,) = await shop.add_shoppers(1)
    order_id = await cart_checkout(shop, shopper, quantity=1)
    assert await shop.orders.cancel_abandoned() == 0  # still held

    shop.clock.advance(minutes=11)
    await shop.reservations.release_expired()
    assert await shop.orders.cancel_abandoned() == 0  # not a day old yet
    shop.clock.advance(days=1)

    assert await shop.orders.cancel_abandoned() == 1
    assert await order_status(db, order_id) == OrderStatus.CANCELLED
    assert await shop.stock() == 5


async def test_a_shopper_placing_order_after_order_is_told_when_to_place_the_next(
    db: Database,
) -> None:
    shop = await open_shop(db, stock=20)
    shopper, other = await shop.add_shoppers(2)
    checkout = CheckoutService(db, shop.announcer, limiter=MemoryRateLimiter())

    async def place(actor: Actor, key: str) -> int:
        await shop.carts.add(actor, shop.variant_id, quantity=1, show_id=shop.show_id)
        (placed,) = await checkout.place_order(
            actor, address=HOME, idempotency_key=key, platform="desktop"
        )
        return placed.order_id

    placed = [await place(shopper, f"order-{n}") for n in range(ORDERS_BURST)]
    with pytest.raises(RateLimited) as refused:
        await place(shopper, "one-more")
    other_placed = await place(other, "first")

    assert len(set(placed)) == ORDERS_BURST
    assert refused.value.detail == "Too many orders in a row; you can place another in 60 s"
    assert refused.value.retry_after_s == 60
    assert other_placed not in placed  # the pace is each shopper's own
