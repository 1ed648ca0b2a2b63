"""Finding shows and products by words and categories; live shows ranked by viewers."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import update

from tests.backends import REDIS_URL
from tests.factories import actor_of, make_merchant, make_show, make_user
from tests.web import Browser
from vitrine.accounts.models import Merchant, User
from vitrine.catalog.drafts import ProductDraft, VariantDraft
from vitrine.catalog.products import create_product
from vitrine.core.broker import Broker, BrokerUnavailable, MemoryBroker, RedisBroker
from vitrine.core.db import Database
from vitrine.shows import discovery, schedule
from vitrine.shows.live_state import ShowLifecycle
from vitrine.shows.models import Show


async def _product(
    db: Database,
    owner: User,
    brand: Merchant,
    title: str,
    *,
    category: str = "",
    description: str = "",
    status: str = "active",
    price: int = 2900,
) -> int:
    draft = ProductDraft(
        title=title,
        currency="EUR",
        status=status,
        category=category,
        description=description,
        variants=[VariantDraft(sku=f"SKU-{title.upper().replace(' ', '-')}", price=price)],
    )
    return (await create_product(await actor_of(db, owner), db, brand.id, draft)).id


async def test_search_matches_titles_descriptions_and_brand_names_ignoring_case(
    db: Database,
) -> None:
    # given two brands with shows and products, one brand not approved, one show cancelled
    owner = await make_user(db, "owner@example.com")
    northwind = await make_merchant(db, owner, "northwind")
    other = await make_user(db, "other@example.com")
    pending = await make_merchant(db, other, "pendingco", approved=False)
    await make_show(db, owner, northwind, title="Winter LAYERS live")
    cancelled = await make_show(db, owner, northwind, title="Layers we dropped", hours=3)
    await schedule.cancel_show(db, await actor_of(db, owner), cancelled.id)
    await _product(db, owner, northwind, "Merino beanie", description="Warm layers for winter")
    await _product(db, owner, northwind, "Draft layers", status="draft")
    await _product(db, owner, northwind, "Trail flask")
    async with db.write() as tx:  # a brand still waiting for approval is not findable
        tx.session.add(
            Show(
                merchant_id=pending.id,
                title="Layers by a pending brand",
                scheduled_start=cancelled.scheduled_start,
                expected_minutes=30,
                status=cancelled.status.SCHEDULED,
                public_name="pendingshow",
                stream_key="k" * 32,
                created_by=other.id,
            )
        )

    # when shoppers search
    layers = await discovery.search(db, "layers")
    by_brand = await discovery.search(db, "NORTHWIND flask")
    nothing = await discovery.search(db, "100%")

    # then only findable matches come back, whatever the case
    assert [card.show.title for card in layers.shows] == ["Winter LAYERS live"]
    assert [hit.product.title for hit in layers.products] == ["Merino beanie"]
    assert (layers.show_total, layers.product_total) == (1, 1)
    assert [hit.product.title for hit in by_brand.products] == ["Trail flask"]
    assert by_brand.shows == []
    assert (nothing.show_total, nothing.product_total) == (0, 0)
    assert layers.products[0].price_from == 2900


async def test_search_pages_through_many_results(db: Database) -> None:
    # given 14 matching products
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    for number in range(14):
        await _product(db, owner, brand, f"Sock {number:02d}")

    # when the first two pages are read
    first = await discovery.search(db, "sock", page=1)
    second = await discovery.search(db, "sock", page=2)

    # then they split 12 + 2 in title order
    assert [hit.product.title for hit in first.products] == [f"Sock {n:02d}" for n in range(12)]
    assert [hit.product.title for hit in second.products] == ["Sock 12", "Sock 13"]
    assert (first.product_total, first.pages, first.has_more) == (14, 2, True)
    assert (second.page, second.has_more) == (2, False)


async def test_categories_merge_spellings_and_a_category_lists_its_shows(db: Database) -> None:
    # given products in "Outerwear" (spelled two ways) and "Gear", and a show featuring a jacket
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    jacket = await _product(db, owner, brand, "Field jacket", category="Outerwear")
    await _product(db, owner, brand, "Rain coat", category="Outerwear")
    await _product(db, owner, brand, "Wool cape", category="outerwear")
    await _product(db, owner, brand, "Trail flask", category="Gear")
    await _product(db, owner, brand, "Hidden", category="Secret", status="draft")
    show = await make_show(db, owner, brand, title="Jackets live", product_ids=(jacket,))
    await make_show(db, owner, brand, title="Flasks live", hours=4)

    # when the categories and one category are listed
    listed = await discovery.categories(db)
    outerwear = await discovery.search(db, "", category="OUTERWEAR")

    # then spellings merge under the most common one, and the category holds the show
    assert [(c.name, c.products) for c in listed] == [("Gear", 1), ("Outerwear", 3)]
    assert [card.show.id for card in outerwear.shows] == [show.id]
    assert sorted(hit.product.title for hit in outerwear.products) == [
        "Field jacket",
        "Rain coat",
        "Wool cape",
    ]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    made: Broker
    if request.param == "memory":
        made = MemoryBroker()
    else:
        if not REDIS_URL:
            pytest.skip("Redis not configured: set VITRINE_TEST_REDIS_URL")
        made = RedisBroker(REDIS_URL, prefix=f"vitrine-test-{secrets.token_hex(4)}:")
    await made.start()
    yield made
    await made.stop()


async def test_live_shows_are_ranked_by_current_viewers(db: Database, broker: Broker) -> None:
    # given three live shows watched by 3, 40 and nobody (two edges report for the second)
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    quiet = await make_show(db, owner, brand, title="Quiet", hours=1)
    busy = await make_show(db, owner, brand, title="Busy", hours=2)
    empty = await make_show(db, owner, brand, title="Empty", hours=3)
    for show in (quiet, busy, empty):
        await ShowLifecycle(db).stream_arrived(show.id)
    await broker.report_count(f"viewers:{quiet.id}", "edge-a", 3, 60)
    await broker.report_count(f"viewers:{busy.id}", "edge-a", 25, 60)
    await broker.report_count(f"viewers:{busy.id}", "edge-b", 15, 60)

    # when the home page ranks them
    ranked = await discovery.live_by_viewers(db, broker)

    # then the most watched come first, and reading left the edges' counts as they were
    assert [(card.show.title, card.viewers) for card in ranked] == [
        ("Busy", 40),
        ("Quiet", 3),
        ("Empty", 0),
    ]
    assert await broker.report_count(f"viewers:{busy.id}", "edge-a", 26, 60) == 41


class _BrokerDown(MemoryBroker):
    async def report_count(self, key: str, member: str, count: int, ttl_s: float) -> int:
        raise BrokerUnavailable("redis is down")


async def test_viewer_count_falls_back_to_this_instance_then_zero() -> None:
    down = _BrokerDown()

    here = await discovery.current_viewers(down, 7, lambda show_id: {"7": 12}[show_id])
    unknown = await discovery.current_viewers(down, 7)

    assert (here, unknown) == (12, 0)


async def test_search_and_category_pages(db: Database, browser: Browser) -> None:
    # given a product in a category, featured in a show
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    jacket = await _product(db, owner, brand, "Field jacket", category="Outer wear")
    await make_show(db, owner, brand, title="Jackets live", product_ids=(jacket,))

    # when a shopper searches and opens the category
    home = await browser.get("/")
    found = await browser.get("/search", params={"q": "JACKET"})
    categories = await browser.get("/categories")
    category = await browser.get("/categories/Outer%20wear")
    too_long = await browser.get("/search", params={"q": "x" * 101})
    bad_page = await browser.get("/search", params={"q": "jacket", "page": "0"})

    # then each page shows what was found, and bad input is explained
    assert 'action="/search" role="search"' in home.text
    assert found.status_code == 200
    assert 'data-testid="show-total">1<' in found.text
    assert 'data-testid="product-total">1<' in found.text
    assert "Jackets live" in found.text and "Field jacket" in found.text
    assert '<a href="/categories/Outer%20wear">Outer wear</a>' in categories.text
    assert category.status_code == 200
    assert "Jackets live" in category.text and "Field jacket" in category.text
    assert too_long.status_code == 422
    assert "Search with at most 100 characters" in too_long.text
    assert bad_page.status_code == 422
    assert "Pages are numbered from 1" in bad_page.text


async def test_search_words_are_matched_literally(db: Database) -> None:
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    await _product(db, owner, brand, "Cotton tee", description="100% cotton")
    await _product(db, owner, brand, "Blend tee", description="1000 threads")
    async with db.write() as tx:
        await tx.session.execute(update(Show).values(title="unused"))

    found = await discovery.search(db, "100%")
    underscore = await discovery.search(db, "_")

    assert [hit.product.title for hit in found.products] == ["Cotton tee"]
    assert underscore.product_total == 0
