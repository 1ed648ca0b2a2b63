"""The replay page of an ended show: the recording, its product markers, the chat to replay
and a product sheet per product with its Add to cart."""

from __future__ import annotations

import json
import re

from tests.factories import make_merchant, make_show, make_user
from tests.integration.replay.helpers import (
    STARTED,
    add_chat,
    add_pin,
    end_show_at,
    make_product,
    playlist,
    write_replay,
)
from tests.web import Browser
from vitrine.config import Settings
from vitrine.core.db import Database

START_MS = STARTED.timestamp() * 1000


async def test_an_ended_show_has_a_shoppable_replay(
    db: Database, browser: Browser, settings: Settings
) -> None:
    owner = await make_user(db, "owner@example.com", name="Ada")
    brand = await make_merchant(db, owner, "northwind")
    beanie = await make_product(db, brand.id, "Beanie", 2900)
    jacket = await make_product(db, brand.id, "Jacket", 18900, stock=0)
    show = await make_show(db, owner, brand, title="Spring drop", product_ids=(beanie, jacket))
    await end_show_at(db, show.id, minutes=1)
    write_replay(settings.data_dir, show.id, playlist((STARTED, 30.0), (None, 30.0)))
    await add_pin(db, show.id, jacket, 4.5, 20)
    await add_pin(db, show.id, beanie, 20, None)
    await add_chat(db, show.id, owner.id, "<b>hi</b>", 3)

    page = await browser.get(f"/shows/{show.id}/replay")
    show_page = await browser.get(f"/shows/{show.id}")

    assert page.status_code == 200
    assert f'data-replay data-hls="/hls/{show.id}/replay.m3u8"' in page.text
    markers = re.findall(
        r'data-offset="([\d.]+)" data-end="([\d.]+)" data-product-id="(\d+)"', page.text
    )
    assert markers == [("4.5", "20.0", str(jacket)), ("20.0", "60.0", str(beanie))]
    found = re.search(
        r"<script type=\"application/json\" data-replay-data>(.*?)</script>", page.text
    )
    assert found is not None
    assert "<b>" not in found[1]  # tojson escapes markup: a message can never become HTML
    data = json.loads(found[1])
    assert data["duration_s"] == 60.0
    assert data["anchors"] == [[0.0, START_MS]]
    assert [(c["author"], c["text"], c["at"] - START_MS) for c in data["chat"]] == [
        ("Ada", "<b>hi</b>", 3000)
    ]
    assert [p["product_id"] for p in data["pins"]] == [jacket, beanie]
    # the beanie can be bought; the jacket sold out
    assert f'data-testid="add-{beanie}"' in page.text
    assert f'data-testid="add-{jacket}"' not in page.text
    assert "Sold out" in page.text
    assert f'href="/shows/{show.id}/replay" data-testid="replay-link"' in show_page.text


async def test_a_show_not_over_yet_sends_to_its_page(db: Database, browser: Browser) -> None:
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    show = await make_show(db, owner, brand)

    response = await browser.get(f"/shows/{show.id}/replay", follow_redirects=False)
    missing = await browser.get("/shows/999/replay")

    assert (response.status_code, response.headers["location"]) == (303, f"/shows/{show.id}")
    assert missing.status_code == 404
