"""A small shop to buy from: a merchant, its owner, a host, a live show, a product with one
variant, and shoppers. Plus the services wired together with a recording announcer and the
test card gateway, on a clock the test moves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from vitrine.accounts.actor import Actor
from vitrine.accounts.models import MemberRole, Merchant, MerchantStatus, User
from vitrine.catalog.models import Product, ProductStatus, Variant
from vitrine.commerce.address import ShippingAddress
from vitrine.commerce.announce import RecordingAnnouncer
from vitrine.commerce.cart import CartService
from vitrine.commerce.checkout import CheckoutService
from vitrine.commerce.deals import DealService
from vitrine.commerce.gate import DealGate, MemoryDealGate
from vitrine.commerce.gateway import TestCardGateway
from vitrine.commerce.ledger import LedgerService
from vitrine.commerce.orders import OrderService
from vitrine.commerce.payments import PaymentService
from vitrine.commerce.policy import BuyingPolicy
from vitrine.commerce.reservations import ReservationService
from vitrine.core.db import Database
from vitrine.shows.models import LineupItem, Show, ShowHost, ShowStatus

HOME = ShippingAddress(
    name="Ada Lovelace", line1="12 Rue de la Paix", postal_code="75002", city="Paris", country="FR"
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Shop:
    db: Database
    clock: Clock
    owner: Actor
    host: Actor
    merchant_id: int
    show_id: int
    product_id: int
    variant_id: int
    announcer: RecordingAnnouncer
    gateway: TestCardGateway
    deals: DealService
    carts: CartService
    checkout: CheckoutService
    payments: PaymentService
    orders: OrderService
    reservations: ReservationService
    ledger: LedgerService
    shoppers: list[Actor] = field(default_factory=list)

    async def add_shoppers(self, count: int) -> list[Actor]:
        async with self.db.write() as tx:
            start = len(self.shoppers)
            users = [
                User(
                    email=f"s{start + i}.{self.merchant_id}@example.com",
                    display_name=f"Shopper {start + i}",
                    password_hash="x",
                )
                for i in range(count)
            ]
            tx.session.add_all(users)
            await tx.session.flush()
            actors = [Actor(user.id, user.display_name) for user in users]
        self.shoppers += actors
        return actors

    async def add_product(
        self, title: str, *, price: int, stock: int, external_url: str = ""
    ) -> tuple[int, int]:
        async with self.db.write() as tx:
            product = Product(
                merchant_id=self.merchant_id,
                handle=title.lower().replace(" ", "-"),
                title=title,
                status=ProductStatus.ACTIVE,
                currency="EUR",
                external_url=external_url,
            )
            tx.session.add(product)
            await tx.session.flush()
            variant = Variant(
                product_id=product.id,
                merchant_id=self.merchant_id,
                sku=title.upper().replace(" ", "-"),
                price=price,
                stock=stock,
            )
            tx.session.add(variant)
            tx.session.add(LineupItem(show_id=self.show_id, product_id=product.id, position=1))
            await tx.session.flush()
            return product.id, variant.id

    async def stock(self, variant_id: int | None = None) -> int:
        async with self.db.read() as session:
            value = await session.scalar(
                select(Variant.stock).where(Variant.id == (variant_id or self.variant_id))
            )
        assert value is not None
        return value


async def open_shop(
    db: Database,
    *,
    stock: int = 10,
    price: int = 4_000,
    shipping_flat: int = 490,
    tax_bps: int = 2_000,
    commission_bps: int = 1_000,
    gate: DealGate | None = None,
    buying: BuyingPolicy | None = None,
    hold: timedelta = timedelta(minutes=10),
    tag: str = "",
) -> Shop:
    """`tag` tells apart several shops in one database."""
    clock = Clock()
    async with db.write() as tx:
        owner = User(email=f"owner{tag}@brand.test", display_name="Owner", password_hash="x")
        host = User(email=f"host{tag}@brand.test", display_name="Host", password_hash="x")
        tx.session.add_all([owner, host])
        await tx.session.flush()
        merchant = Merchant(
            handle=f"brand{tag}",
            brand_name="Brand",
            contact_email="hello@brand.test",
            status=MerchantStatus.APPROVED,
            commission_bps=commission_bps,
            currency="EUR",
            shipping_flat=shipping_flat,
            tax_bps=tax_bps,
            applied_by=owner.id,
        )
        tx.session.add(merchant)
        await tx.session.flush()
        product = Product(
            merchant_id=merchant.id,
            handle="silk-scarf",
            title="Silk scarf",
            status=ProductStatus.ACTIVE,
            currency="EUR",
        )
        tx.session.add(product)
        await tx.session.flush()
        variant = Variant(
            product_id=product.id,
            merchant_id=merchant.id,
            sku="SCARF-RED",
            price=price,
            stock=stock,
        )
        show = Show(
            merchant_id=merchant.id,
            title="Autumn drop",
            scheduled_start=clock.now,
            expected_minutes=60,
            status=ShowStatus.LIVE,
            public_name=f"autumn{tag}",
            stream_key="secret",
            created_by=owner.id,
        )
        tx.session.add_all([variant, show])
        await tx.session.flush()
        tx.session.add(ShowHost(show_id=show.id, user_id=host.id))
        tx.session.add(LineupItem(show_id=show.id, product_id=product.id, position=0))
        ids = (owner.id, host.id, merchant.id, show.id, product.id, variant.id)
    owner_id, host_id, merchant_id, show_id, product_id, variant_id = ids
    announcer = RecordingAnnouncer()
    gateway = TestCardGateway(secret=b"whsec_test", db=db, clock=clock)
    policy = buying or BuyingPolicy()
    return Shop(
        db=db,
        clock=clock,
        owner=Actor(owner_id, "Owner", memberships={merchant_id: MemberRole.OWNER}),
        host=Actor(host_id, "Host", memberships={merchant_id: MemberRole.HOST}),
        merchant_id=merchant_id,
        show_id=show_id,
        product_id=product_id,
        variant_id=variant_id,
        announcer=announcer,
        gateway=gateway,
        deals=DealService(
            db, gate or MemoryDealGate(), announcer, hold=hold, buying=policy, clock=clock
        ),
        carts=CartService(db, clock=clock),
        checkout=CheckoutService(db, announcer, hold=hold, buying=policy, clock=clock),
        payments=PaymentService(db, gateway, announcer, buying=policy, clock=clock),
        orders=OrderService(db, gateway, announcer, clock=clock),
        reservations=ReservationService(db, announcer, clock=clock),
        ledger=LedgerService(db),
    )
