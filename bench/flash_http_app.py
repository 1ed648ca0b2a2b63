"""The web process of the flash sale's HTTP case: the Vitrine app as `vitrine serve` builds it,
plus the peer's buying route (one locked transaction per request) so both designs run in the
same process, behind the same session cookie and CSRF check.

    uvicorn --factory flash_http_app:make_app --app-dir bench   (settings from VITRINE_* env)
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response, post
from litestar.params import FromPath
from sqlalchemy import text

from vitrine.app import create_app
from vitrine.commerce.bulk import stamp
from vitrine.commerce.errors import SoldOut
from vitrine.config import load_settings
from vitrine.core.clock import utc_now
from vitrine.web.auth import buyer_actor
from vitrine.web.pages.common import form_of
from vitrine.web.services import services_of

PEER_SHIPPING = 490


@post("/bench/peer/variants/{variant_id:int}/buy")
async def peer_buy(request: Request[Any, Any, Any], variant_id: FromPath[int]) -> Response[Any]:
    """What most shops do: lock the stock row, look for the key's order, insert the order and
    take the unit, commit; one transaction per request (BEGIN IMMEDIATE on SQLite)."""
    services = services_of(request)
    buyer_id = (await buyer_actor(request)).require_signed_in()
    key = (await form_of(request)).get("idempotency_key", "")
    lock = "" if services.db.sqlite else " FOR UPDATE"
    async with services.db.write() as tx:
        session = tx.session
        row = (
            await session.execute(
                text(f"SELECT stock, price, merchant_id FROM variants WHERE id = :v{lock}"),
                {"v": variant_id},
            )
        ).one()
        stock, price, merchant_id = row
        already = (
            await session.execute(
                text("SELECT id FROM orders WHERE buyer_id = :b AND idempotency_key = :k"),
                {"b": buyer_id, "k": key},
            )
        ).scalar_one_or_none()
        if already is not None:
            return Response({"order_id": already}, status_code=201)
        if stock < 1:
            raise SoldOut("Sold out")
        order_id = (
            await session.execute(
                text(
                    "INSERT INTO orders (merchant_id, buyer_id, idempotency_key, status, currency,"
                    " subtotal, shipping, tax, total, ship_name, ship_line1, ship_line2,"
                    " ship_postal_code, ship_city, ship_country, tracking_number, created_at)"
                    " VALUES (:m, :b, :k, 'pending_payment', 'EUR', :p, :s, 0, :t,"
                    " '', '', '', '', '', '', '', :now) RETURNING id"
                ),
                {
                    "m": merchant_id,
                    "b": buyer_id,
                    "k": key,
                    "p": price,
                    "s": PEER_SHIPPING,
                    "t": price + PEER_SHIPPING,
                    "now": stamp(utc_now(), sqlite=services.db.sqlite),
                },
            )
        ).scalar_one()
        await session.execute(
            text("UPDATE variants SET stock = stock - 1 WHERE id = :v"), {"v": variant_id}
        )
    return Response({"order_id": order_id}, status_code=201)


def make_app() -> Litestar:
    return create_app(load_settings(), extra_routes=[peer_buy])
