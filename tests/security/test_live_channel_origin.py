"""A page of another site that opens our live channel with the person's cookie watches as a
guest: it can never chat, ask or moderate as them (cross-site WebSocket hijacking)."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, make_merchant, make_show, make_user
from vitrine.accounts.users import log_in
from vitrine.core.db import Database
from vitrine.live.protocols import LiveRequest
from vitrine.web.auth import SESSION_COOKIE
from vitrine.web.live_identify import SessionIdentify


@pytest.mark.parametrize(
    ("origin", "host", "who"),
    [
        (None, "shop.example:8001", "Ana"),  # an app or a script: no browser's cookie jar
        ("https://shop.example", "shop.example", "Ana"),
        ("http://shop.example:8000", "shop.example:8001", "Ana"),  # the edge on its own port
        ("https://evil.example", "shop.example", "Guest"),
        ("https://shop.example.evil.example", "shop.example", "Guest"),
        ("null", "shop.example", "Guest"),  # a sandboxed frame or a file
    ],
)
async def test_only_pages_of_the_channels_own_host_act_as_the_person(
    db: Database, origin: str | None, host: str, who: str
) -> None:
    owner = await make_user(db, "owner@example.com")
    show = await make_show(db, owner, await make_merchant(db, owner, "northwind"), hours=1)
    await make_user(db, "ana@example.com", name="Ana")
    token = await log_in(
        db, "ana@example.com", PASSWORD, client="127.0.0.1", attempts_per_minute=10, days=1
    )
    headers = {"host": host} | ({"origin": origin} if origin is not None else {})

    viewer = await SessionIdentify(db).identify(
        LiveRequest(str(show.id), headers, {SESSION_COOKIE: token}, {})
    )

    assert viewer.display_name == who
    assert (viewer.user_id is None) is (who == "Guest")
