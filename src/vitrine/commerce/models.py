"""The buying side's tables: carts, stock reservations, orders and their history, flash deals
and their claims, payments, webhook deliveries, the commission ledger and external clicks;
and the built-in test gateway's charges."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vitrine.core.clock import utc_now
from vitrine.core.db import Base, UtcDateTime, str_enum


def table_of(model: type[Base]) -> Table:
    """A model's Table, for bulk statements that bypass the ORM's unit of work."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class Cart(Base):
    """A shopper's cart: a signed-in user's (one each), or a guest's, found by its cookie token."""

    __tablename__ = "carts"
    __table_args__ = (
        CheckConstraint("user_id IS NOT NULL OR guest_token IS NOT NULL", name="has_owner"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True, default=None
    )
    guest_token: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class CartLine(Base):
    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "variant_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    # The show the shopper was watching when adding it, for attribution.
    show_id: Mapped[int | None] = mapped_column(
        ForeignKey("shows.id", ondelete="SET NULL"), default=None
    )
    added_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class OrderStatus(enum.StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    FULFILLED = "fulfilled"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    # Paid after its hold expired and the stock was gone: the money goes back to the shopper.
    REFUND_DUE = "refund_due"


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("buyer_id", "idempotency_key"),
        CheckConstraint("subtotal >= 0", name="subtotal_not_negative"),
        CheckConstraint("shipping >= 0", name="shipping_not_negative"),
        CheckConstraint("tax >= 0", name="tax_not_negative"),
        CheckConstraint("total = subtotal + shipping + tax", name="total_adds_up"),
        Index("ix_orders_merchant_created", "merchant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    show_id: Mapped[int | None] = mapped_column(
        ForeignKey("shows.id", ondelete="SET NULL"), default=None, index=True
    )
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id"), default=None)
    # The client's key for the tap that created it: a retried or double tap finds this order.
    idempotency_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus, "order_status"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int] = mapped_column(Integer)
    shipping: Mapped[int] = mapped_column(Integer)
    tax: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    ship_name: Mapped[str] = mapped_column(String(100), default="")
    ship_line1: Mapped[str] = mapped_column(String(200), default="")
    ship_line2: Mapped[str] = mapped_column(String(200), default="")
    ship_postal_code: Mapped[str] = mapped_column(String(20), default="")
    ship_city: Mapped[str] = mapped_column(String(100), default="")
    ship_country: Mapped[str] = mapped_column(String(2), default="")
    tracking_number: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    product_title: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(64))
    unit_price: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)


class OrderEvent(Base):
    """Append-only history of an order: every state change, who made it and when."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    actor_label: Mapped[str] = mapped_column(String(60), default="")  # "system", "webhook", …
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class ReservationStatus(enum.StrEnum):
    HELD = "held"
    CONVERTED = "converted"
    RELEASED = "released"


class Reservation(Base):
    """Stock taken off a variant for one order line until it is paid or the hold expires."""

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_reservations_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[ReservationStatus] = mapped_column(
        str_enum(ReservationStatus, "reservation_status")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DealStatus(enum.StrEnum):
    LIVE = "live"
    ENDED = "ended"


class Deal(Base):
    """A flash deal: `quantity` units set aside from the variant's stock when it starts;
    `claimed` counts the units won; what is left returns to stock when it ends."""

    __tablename__ = "deals"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("claimed >= 0 AND claimed <= quantity", name="claimed_within_quantity"),
        CheckConstraint("deal_price >= 0", name="price_not_negative"),
        CheckConstraint("per_shopper_limit >= 1", name="limit_positive"),
        CheckConstraint("ends_at >= starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    deal_price: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[int] = mapped_column(Integer)
    claimed: Mapped[int] = mapped_column(Integer, default=0)
    per_shopper_limit: Mapped[int] = mapped_column(Integer, default=1)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[DealStatus] = mapped_column(str_enum(DealStatus, "deal_status"))
    returned_to_stock: Mapped[int] = mapped_column(Integer, default=0)
    started_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class DealClaim(Base):
    """What one shopper won in one deal; the database's last guard on the per-shopper limit."""

    __tablename__ = "deal_claims"
    __table_args__ = (
        UniqueConstraint("deal_id", "buyer_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No foreign key to deals: every winner of a deal points at the same deal row, and on
    # PostgreSQL each check locks that row (FOR KEY SHARE) while the batch updates it, which
    # was most of a batch's time. The deal's id comes from the deal itself, in memory.
    deal_id: Mapped[int] = mapped_column(Integer)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    quantity: Mapped[int] = mapped_column(Integer)


class DealHoldStatus(enum.StrEnum):
    HELD = "held"  # won, the unit is held; no order yet
    ORDERED = "ordered"  # the shopper went on to pay: an order holds the unit now
    RELEASED = "released"  # expired before the shopper went on to pay: back in stock


class DealHold(Base):
    """One won tap: the unit held for the shopper, and the terms they were told. The order is
    created when the shopper goes on to pay (`commerce.win_checkout`), so the winners' write
    in the rush is this row and the claim, nothing else. `UNIQUE(buyer, key)`: one hold, and
    so one order, per client idempotency key."""

    __tablename__ = "deal_holds"
    __table_args__ = (
        UniqueConstraint("buyer_id", "idempotency_key"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "subtotal >= 0 AND shipping >= 0 AND tax >= 0", name="amounts_not_negative"
        ),
        Index("ix_deal_holds_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No foreign keys to the deal and its variant, for the reason given on DealClaim.
    deal_id: Mapped[int] = mapped_column(Integer, index=True)
    variant_id: Mapped[int] = mapped_column(Integer)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    subtotal: Mapped[int] = mapped_column(Integer)
    shipping: Mapped[int] = mapped_column(Integer)
    tax: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[DealHoldStatus] = mapped_column(str_enum(DealHoldStatus, "deal_hold_status"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), default=None)


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    REFUNDED = "refunded"


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("provider", "reference"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    provider: Mapped[str] = mapped_column(String(30))
    reference: Mapped[str] = mapped_column(String(100))
    status: Mapped[PaymentStatus] = mapped_column(str_enum(PaymentStatus, "payment_status"))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    failure: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class WebhookDelivery(Base):
    """Each provider event processed once: a replay finds its id here and changes nothing."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(30))
    event_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(60))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class LedgerKind(enum.StrEnum):
    GROSS = "gross"
    COMMISSION = "commission"
    PAYABLE = "payable"


class LedgerEntry(Base):
    """Append-only money record: a paid order writes gross, commission and payable; a refund
    writes the same three negated."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_merchant_created", "merchant_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    kind: Mapped[LedgerKind] = mapped_column(str_enum(LedgerKind, "ledger_kind"))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class ExternalClick(Base):
    """A viewer opened a product's external page from a show."""

    __tablename__ = "external_clicks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class TestCardCharge(Base):
    """The built-in test gateway's own record of a charge. It stands in for a card gateway's
    books, which every instance of a cluster reaches: kept in the shared database, so a
    charge started on one instance is confirmed or refunded on another."""

    __test__ = False  # not a pytest test class
    __tablename__ = "test_card_charges"

    reference: Mapped[str] = mapped_column(String(100), primary_key=True)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))  # a ChargeStatus
    refunded: Mapped[bool] = mapped_column(Boolean, default=False)
