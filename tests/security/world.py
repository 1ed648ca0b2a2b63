"""One shop with every kind of person in it, built once per test module for the security tests.

Northwind is live with a deal, a chat, a paid order, a product photo, a CSV import and an API
token; Bolt is another brand whose staff must see none of it. Each person is a `Browser` signed
in through the log-in page, so the tests ask exactly what a browser would."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import select

from tests.api.shop_helpers import ADDRESS, live_shop, start_deal
from tests.factories import actor_of, make_merchant, make_show, make_user
from tests.web import Browser
from vitrine.accounts import api_tokens, merchants
from vitrine.accounts.models import MemberRole, User
from vitrine.accounts.notifications import unsubscribe_token
from vitrine.catalog.models import CatalogImport, ProductImage
from vitrine.chat.models import ChatMessage
from vitrine.commerce.models import Payment
from vitrine.core.db import Database
from vitrine.shows.models import Show, ShowHost, SimulcastDestination

# Who asks, from least to most trusted: refusals come first, so a request that changes
# something (ending a show, revoking a token) runs after everyone who must be refused.
# Partners on the API (Bolt's token, Northwind's) are guests to the pages: they come early.
ROLES = (
    "guest",
    "other_token",
    "token",
    "shopper",
    "other_staff",
    "operator",
    "host",
    "staff",
    "owner",
)

SECRET_PRODUCT = "Unreleased prototype jacket"  # a draft: only Northwind's people see it
SIMULCAST = "rtmp://live.social.example/app/sk-simulcast-7f3a9"  # its key is a secret too
ADDRESS_LINE = ADDRESS["line1"]  # where Ana lives
EMBEDDING_SITE = "https://shop.northwind.example"  # may frame Northwind's player


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 60)).save(out, "PNG")
    return out.getvalue()


@dataclass
class World:
    db: Database
    browsers: dict[str, Browser]
    tokens: dict[str, str]  # role -> bearer secret
    ids: dict[str, Any]  # what the routes' path parameters are filled with
    emails: dict[str, str] = field(default_factory=dict)

    async def log_in_again(self) -> None:
        """Every signed-in role logs in (after the table's log-out, for instance)."""
        for role, email in self.emails.items():
            answer = await self.browsers[role].log_in(email)
            assert answer.status_code == 303, (role, answer.text)

    def headers(self, role: str) -> dict[str, str]:
        secret = self.tokens.get(role)
        return {"authorization": f"Bearer {secret}"} if secret else {}

    async def stream_key(self, show_id: int) -> str:
        async with self.db.read() as session:
            key = await session.scalar(select(Show.stream_key).where(Show.id == show_id))
        assert key is not None
        return key

    async def stream_keys_by_show(self) -> dict[str, str]:
        """The current stream keys of Northwind's live show and of Bolt's show."""
        async with self.db.read() as session:
            rows = (await session.execute(select(Show.id, Show.stream_key))).all()
        keys = {show_id: key for show_id, key in rows}
        return {"live": keys[self.ids["show_id"]], "bolt": keys[self.ids["other_show_id"]]}


async def build_world(
    db: Database, client: Any, *, unsubscribe_secret: str, data_dir: Path
) -> World:
    shop = await live_shop(db)  # Northwind, owner@example.com, operator-northwind@example.com
    deal_id = await start_deal(db, shop, quantity=2)
    owner_user = await _user(db, "owner@example.com")
    owner = await actor_of(db, owner_user)
    emails = {
        "shopper": "ana@example.com",
        "other_staff": "staff@bolt.example",
        "operator": "operator-northwind@example.com",
        "host": "creator@example.com",
        "staff": "staff@northwind.example",
        "owner": "owner@example.com",
    }
    for role in ("staff", "host"):
        await make_user(db, emails[role])
    await merchants.add_member(db, owner, shop.merchant_id, emails["staff"], MemberRole.STAFF)
    await merchants.add_member(db, owner, shop.merchant_id, emails["host"], MemberRole.HOST)
    bolt_owner = await make_user(db, "owner@bolt.example")
    bolt = await make_merchant(db, bolt_owner, "bolt")
    await make_user(db, emails["other_staff"])
    await merchants.add_member(
        db, await actor_of(db, bolt_owner), bolt.id, emails["other_staff"], MemberRole.STAFF
    )
    pending_owner = await make_user(db, "owner@pending.example")
    pending = await make_merchant(db, pending_owner, "pending", approved=False)
    spare_show = await make_show(db, owner_user, _merchant(shop.merchant_id), title="Spare show")
    api_show = await make_show(db, owner_user, _merchant(shop.merchant_id), title="API show")
    others_show = await make_show(db, owner_user, _merchant(shop.merchant_id), title="Not hers")
    bolt_show = await make_show(db, bolt_owner, bolt, title="Bolt show")
    host_user = await _user(db, emails["host"])
    viewer = await make_user(db, "bob@example.com", name="Bob")
    async with db.write() as tx:
        tx.session.add_all(
            [
                ShowHost(show_id=shop.show_id, user_id=host_user.id),
                ShowHost(show_id=spare_show.id, user_id=host_user.id),
            ]
        )
        tx.session.add(SimulcastDestination(show_id=shop.show_id, name="Social", url=SIMULCAST))
        message = ChatMessage(
            show_id=shop.show_id, user_id=viewer.id, author_name="Bob", text="Is it silk?"
        )
        tx.session.add(message)
        await tx.session.flush()
        message_id = message.id

    browsers = {role: Browser(client) for role in ROLES}
    await browsers["shopper"].sign_up(emails["shopper"], "Ana")
    world = World(db=db, browsers=browsers, tokens={}, ids={}, emails=emails)
    await world.log_in_again()
    order_id = await _paid_order(browsers["shopper"], shop.show_id, shop.scarf_s)
    tapped = await browsers["shopper"].request(
        "POST",
        f"/deals/{deal_id}/buy",
        data={"idempotency_key": "world-tap"},
        headers={
            "accept": "application/json",
            "x-csrf-token": browsers["shopper"].cookies.get("vitrine_csrf") or "",
        },
    )
    assert tapped.status_code == 201, tapped.text
    hold_id = tapped.json()["hold_id"]
    staff = browsers["staff"]
    base = f"/manage/{shop.merchant_id}/catalog"
    secret_product = await staff.submit(
        f"{base}/new",
        {
            "title": SECRET_PRODUCT,
            "status": "draft",
            "currency": "EUR",
            **_VARIANT,
        },
    )
    assert secret_product.status_code == 303, secret_product.text
    product_id = int(secret_product.headers["location"].split("?")[0].split("/")[-1])
    spare_product = await staff.submit(
        f"{base}/new",
        {
            "title": "Spare mug",
            "status": "draft",
            "currency": "EUR",
            **_VARIANT,
            "variants[0].sku": "TWO",
        },
    )
    spare_product_id = int(spare_product.headers["location"].split("?")[0].split("/")[-1])
    for _ in range(2):  # one to keep, one for the delete route
        added = await staff.submit(
            f"{base}/{product_id}/images", files={"image": ("photo.png", png(), "image/png")}
        )
        assert added.status_code == 303, added.text
    framing = await staff.submit(
        f"/manage/{shop.merchant_id}/embed", {"embed_origins": EMBEDDING_SITE}
    )
    assert framing.status_code == 303, framing.text
    imported = await staff.submit(
        f"{base}/import",
        files={"file": ("catalog.csv", _CSV.encode(), "text/csv")},
    )
    assert imported.status_code == 303, imported.text
    tokens = {
        "token": (await api_tokens.issue_token(db, owner, shop.merchant_id, "Partner")).secret,
        "other_token": (
            await api_tokens.issue_token(db, await actor_of(db, bolt_owner), bolt.id, "Bolt")
        ).secret,
    }
    spare_token = await api_tokens.issue_token(db, owner, shop.merchant_id, "Old partner")
    async with db.read() as session:
        image_ids = list(
            (
                await session.scalars(
                    select(ProductImage.id)
                    .where(ProductImage.product_id == product_id)
                    .order_by(ProductImage.id)
                )
            ).all()
        )
        job_id = await session.scalar(select(CatalogImport.id))
        photo = await session.scalar(
            select(ProductImage.path).where(ProductImage.id == image_ids[0])
        )
        payment_id = await session.scalar(select(Payment.id).where(Payment.order_id == order_id))
    ana = await _user(db, emails["shopper"])
    replay = data_dir / "hls" / str(shop.show_id)  # the MP4 download is for the brand only
    replay.mkdir(parents=True, exist_ok=True)
    (replay / "replay.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    ids: dict[str, Any] = {
        "merchant_id": shop.merchant_id,
        "other_merchant_id": bolt.id,
        "pending_merchant_id": pending.id,
        "show_id": shop.show_id,
        "spare_show_id": spare_show.id,
        "api_show_id": api_show.id,
        "other_show_id": bolt_show.id,
        "product_id": product_id,
        "spare_product_id": spare_product_id,
        "external_product_id": shop.bowl_id,
        "lineup_product_id": shop.scarf_id,
        "unhosted_show_id": others_show.id,  # Northwind's, but the creator does not host it
        "deal_id": deal_id,
        "hold_id": hold_id,
        "order_id": order_id,
        "payment_id": payment_id,
        "message_id": message_id,
        "user_id": viewer.id,
        "token_id": spare_token.token.id,
        "job_id": job_id,
        "image_id": image_ids[-1],
        "photo_path": photo,
        "show_replay": f"{shop.show_id}/replay.mp4",
        "handle": "northwind",
        "token": unsubscribe_token(unsubscribe_secret, ana.id),
        "name": "Tops",
    }
    world.tokens, world.ids = tokens, ids
    return world


_VARIANT = {"variants[0].sku": "ONE", "variants[0].price": "199.00", "variants[0].stock": "5"}
_CSV = (
    "product_handle,sku,title,description,status,currency,price,compare_at_price,stock,"
    "option1_name,option1_value,option2_name,option2_value,option3_name,option3_value,"
    "external_url,category\n"
    "red-tee,TS-RED-S,Red tee,Loose fit.,active,EUR,19.99,,12,Size,S,,,,,,Tops\n"
)


async def _paid_order(browser: Browser, show_id: int, variant_id: int) -> int:
    await browser.submit(
        "/cart/add", {"variant_id": variant_id, "quantity": "1", "show_id": show_id}
    )
    placed = await browser.submit("/checkout", {**ADDRESS, "idempotency_key": "security-1"})
    assert placed.status_code == 303, placed.text
    order_id = int(placed.headers["location"].split("/")[2])
    paid = await browser.submit(f"/orders/{order_id}/pay", {"card_number": "4242424242424242"})
    assert paid.status_code == 303, paid.text
    return order_id


async def _user(db: Database, email: str) -> User:
    async with db.read() as session:
        user = await session.scalar(select(User).where(User.email == email))
    assert user is not None
    return user


def _merchant(merchant_id: int) -> Any:
    """make_show needs only the merchant's id."""

    @dataclass
    class _Ref:
        id: int

    return _Ref(merchant_id)
