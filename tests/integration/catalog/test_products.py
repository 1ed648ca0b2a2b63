from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from tests.integration.catalog.shops import Shop, make_shop
from vitrine.accounts.models import MemberRole
from vitrine.catalog.drafts import ProductDraft, VariantDraft
from vitrine.catalog.models import Product, ProductStatus, Variant
from vitrine.catalog.products import (
    active_products,
    adjust_stock,
    archive_product,
    create_product,
    get_product,
    list_products,
    products_by_ids,
    set_stock,
    update_product,
)
from vitrine.core.db import Database
from vitrine.core.errors import NotAllowed, NotFound, ValidationFailed


def tee(*skus: str, title: str = "Red tee", **changes: object) -> ProductDraft:
    fields: dict[str, object] = {
        "title": title,
        "currency": "EUR",
        "status": "active",
        "variants": [
            VariantDraft(sku=sku, price=1999, stock=5, options={"Size": size})
            for sku, size in zip(skus, "SMLX", strict=False)
        ],
    }
    fields.update(changes)
    return ProductDraft(**fields)  # type: ignore[arg-type]


async def count(db: Database, model: type[Product] | type[Variant]) -> int:
    async with db.read() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_a_product_is_created_with_its_variants(db: Database, shop: Shop) -> None:
    draft = ProductDraft(
        title="  Red   tee ",
        currency="eur",
        status="active",
        category="Tops",
        external_url="https://acme.example/red-tee",
        variants=[
            VariantDraft(
                sku="TS-RED-S",
                price=1999,
                compare_at_price=2499,
                stock=3,
                options={"Size": "S", "Colour": "Red"},
            ),
            VariantDraft(
                sku="TS-RED-M", price=2199, stock=0, options={"Size": "M", "Colour": "Red"}
            ),
        ],
    )

    product = await create_product(shop.owner, db, shop.merchant_id, draft)

    assert (product.title, product.currency, product.status, product.handle) == (
        "Red tee",
        "EUR",
        ProductStatus.ACTIVE,
        "red-tee",
    )
    assert [(v.sku, v.price, v.compare_at_price, v.stock, v.options) for v in product.variants] == [
        ("TS-RED-S", 1999, 2499, 3, {"Size": "S", "Colour": "Red"}),
        ("TS-RED-M", 2199, None, 0, {"Size": "M", "Colour": "Red"}),
    ]
    assert (product.min_price, product.max_price, product.total_stock) == (1999, 2199, 3)
    again = await get_product(shop.owner, db, product.id)
    assert again == product


async def test_a_second_product_with_the_same_title_gets_its_own_handle(
    db: Database, shop: Shop
) -> None:
    first = await create_product(shop.owner, db, shop.merchant_id, tee("A1"))
    second = await create_product(shop.owner, db, shop.merchant_id, tee("A2"))

    assert (first.handle, second.handle) == ("red-tee", "red-tee-2")


async def test_a_duplicate_sku_is_refused_naming_the_product_and_nothing_is_written(
    db: Database, shop: Shop
) -> None:
    await create_product(shop.owner, db, shop.merchant_id, tee("TS-RED-M"))

    with pytest.raises(ValidationFailed) as refused:
        await create_product(
            shop.owner, db, shop.merchant_id, tee("TS-BLUE-S", "ts-red-m", title="Blue tee")
        )

    assert refused.value.errors == {
        "variants[1].sku": "SKU 'ts-red-m' is already used by 'Red tee'; choose another"
    }
    assert (await count(db, Product), await count(db, Variant)) == (1, 1)


async def test_the_same_sku_twice_in_one_product_is_refused(db: Database, shop: Shop) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await create_product(shop.owner, db, shop.merchant_id, tee("TS-1", "TS-1"))

    assert refused.value.errors == {
        "variants[1].sku": "SKU 'TS-1' is already used by variant 1 of this product; choose another"
    }
    assert await count(db, Product) == 0


async def test_every_bad_field_is_named_at_once(db: Database, shop: Shop) -> None:
    draft = ProductDraft(
        title=" ",
        currency="EURO",
        status="live",
        external_url="javascript:alert(1)",
        variants=[
            VariantDraft(sku="TS 1", price=-1, stock=-2),
            VariantDraft(sku="TS-2", price=500, compare_at_price=500),
        ],
    )

    with pytest.raises(ValidationFailed) as refused:
        await create_product(shop.owner, db, shop.merchant_id, draft)

    assert refused.value.errors == {
        "title": "is required; give the product a name",
        "status": "'live' is not a status; use draft, active or archived",
        "currency": "'EURO' is not an ISO 4217 currency code; use one such as EUR, USD or GBP",
        "external_url": "'javascript:alert(1)' is not a web address; write it in full, like https://shop.example.com/tee",
        "variants[0].sku": "'TS 1' has characters a SKU cannot have; use letters, digits and . _ / # + -, starting with a letter or digit",
        "variants[0].price": "must not be negative",
        "variants[0].stock": "must be 0 or more",
        "variants[1].compare_at_price": "must be greater than the price (500 minor units); leave it empty if there is no reduction",
    }
    assert await count(db, Product) == 0


async def test_an_unknown_currency_is_refused(db: Database, shop: Shop) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await create_product(shop.owner, db, shop.merchant_id, tee("TS-1", currency="XYZ"))

    assert refused.value.errors == {
        "currency": "'XYZ' is not an ISO 4217 currency code; use one such as EUR, USD or GBP"
    }
    assert await count(db, Product) == 0


async def test_a_negative_price_is_refused(db: Database, shop: Shop) -> None:
    draft = tee("TS-1", variants=[VariantDraft(sku="TS-1", price=-100)])

    with pytest.raises(ValidationFailed) as refused:
        await create_product(shop.owner, db, shop.merchant_id, draft)

    assert refused.value.errors == {"variants[0].price": "must not be negative"}
    assert await count(db, Variant) == 0


async def test_compare_at_price_must_be_above_the_price(db: Database, shop: Shop) -> None:
    draft = tee("TS-1", variants=[VariantDraft(sku="TS-1", price=2000, compare_at_price=1500)])

    with pytest.raises(ValidationFailed) as refused:
        await create_product(shop.owner, db, shop.merchant_id, draft)

    assert refused.value.errors == {
        "variants[0].compare_at_price": "must be greater than the price (20.00 EUR); leave it empty if there is no reduction"
    }


async def test_an_update_keeps_matched_variants_adds_new_ones_and_removes_the_rest(
    db: Database, shop: Shop
) -> None:
    product = await create_product(shop.owner, db, shop.merchant_id, tee("TS-S", "TS-M", "TS-L"))
    small, medium, _large = product.variants

    updated = await update_product(
        shop.owner,
        db,
        product.id,
        tee(
            title="Red tee, organic",
            variants=[
                VariantDraft(id=medium.id, sku="TS-S", price=2500, stock=1),  # takes the freed SKU
                VariantDraft(sku="TS-XL", price=2600, stock=2),
                VariantDraft(id=small.id, sku="TS-XS", price=1800, stock=9),
            ],
        ),
    )

    assert updated.title == "Red tee, organic"
    assert updated.handle == "red-tee"
    assert [(v.sku, v.price, v.stock) for v in updated.variants] == [
        ("TS-S", 2500, 1),
        ("TS-XL", 2600, 2),
        ("TS-XS", 1800, 9),
    ]
    assert updated.variants[0].id == medium.id
    assert updated.variants[2].id == small.id
    assert await count(db, Variant) == 3


async def test_an_update_cannot_take_a_sku_of_another_product(db: Database, shop: Shop) -> None:
    await create_product(shop.owner, db, shop.merchant_id, tee("TS-1"))
    other = await create_product(shop.owner, db, shop.merchant_id, tee("MUG-1", title="Mug"))

    with pytest.raises(ValidationFailed) as refused:
        await update_product(shop.owner, db, other.id, tee("TS-1", title="Mug"))

    assert refused.value.errors == {
        "variants[0].sku": "SKU 'TS-1' is already used by 'Red tee'; choose another"
    }
    assert (await get_product(shop.owner, db, other.id)).variants[0].sku == "MUG-1"


async def test_the_same_sku_may_be_used_by_two_merchants(
    db: Database, shop: Shop, rival: Shop
) -> None:
    await create_product(shop.owner, db, shop.merchant_id, tee("TS-1"))
    theirs = await create_product(rival.owner, db, rival.merchant_id, tee("TS-1"))

    assert theirs.variants[0].sku == "TS-1"


async def test_another_merchants_product_is_not_found(
    db: Database, shop: Shop, rival: Shop
) -> None:
    mine = await create_product(shop.owner, db, shop.merchant_id, tee("TS-1"))

    with pytest.raises(NotFound) as hidden:
        await get_product(rival.owner, db, mine.id)
    assert hidden.value.detail == f"Product #{mine.id} is not in your catalog"
    with pytest.raises(NotFound):
        await update_product(rival.owner, db, mine.id, tee("TS-9"))
    with pytest.raises(NotFound):
        await archive_product(rival.owner, db, mine.id)
    with pytest.raises(NotFound) as hidden_variant:
        await set_stock(rival.owner, db, mine.variants[0].id, 0)
    assert hidden_variant.value.detail == f"Variant #{mine.variants[0].id} is not in your catalog"
    with pytest.raises(NotAllowed) as refused:
        await create_product(rival.owner, db, shop.merchant_id, tee("TS-2"))
    assert refused.value.detail == "Only this brand's owner and staff can do this"

    unchanged = await get_product(shop.owner, db, mine.id)
    assert (unchanged.status, unchanged.variants[0].sku, unchanged.variants[0].stock) == (
        ProductStatus.ACTIVE,
        "TS-1",
        5,
    )
    assert await count(db, Product) == 1


async def test_a_host_of_the_brand_may_not_edit_its_catalog(db: Database, shop: Shop) -> None:
    mine = await create_product(shop.owner, db, shop.merchant_id, tee("TS-1"))
    host = await make_shop(db, "creator", role=MemberRole.HOST)
    guest_host = type(shop.owner)(
        user_id=host.owner.user_id, memberships={shop.merchant_id: MemberRole.HOST}
    )

    with pytest.raises(NotAllowed) as refused:
        await archive_product(guest_host, db, mine.id)

    assert refused.value.detail == "Only this brand's owner and staff can do this"


async def test_archiving_takes_a_product_off_the_shop(db: Database, shop: Shop) -> None:
    shirt = await create_product(shop.owner, db, shop.merchant_id, tee("TS-1"))
    mug = await create_product(shop.owner, db, shop.merchant_id, tee("MUG-1", title="Mug"))
    await create_product(
        shop.owner, db, shop.merchant_id, tee("CAP-1", title="Cap", status="draft")
    )

    archived = await archive_product(shop.owner, db, shop_id := shirt.id)

    assert archived.status == ProductStatus.ARCHIVED
    assert [p.title for p in await active_products(db, shop.merchant_id)] == ["Mug"]
    assert [p.id for p in await products_by_ids(db, [mug.id, 999, shop_id])] == [mug.id, shop_id]


async def test_stock_is_set_per_sku_and_never_below_zero(db: Database, shop: Shop) -> None:
    product = await create_product(shop.owner, db, shop.merchant_id, tee("TS-1"))

    variant = await set_stock(shop.owner, db, product.variants[0].id, 42)
    with pytest.raises(ValidationFailed) as refused:
        await set_stock(shop.owner, db, product.variants[0].id, -1)

    assert variant.stock == 42
    assert refused.value.errors == {"stock": "must be 0 or more"}
    assert (await get_product(shop.owner, db, product.id)).variants[0].stock == 42


async def test_the_product_list_filters_by_status_and_text_and_pages(
    db: Database, shop: Shop, rival: Shop
) -> None:
    for number in range(5):
        await create_product(
            shop.owner, db, shop.merchant_id, tee(f"TS-{number}", title=f"Tee {number}")
        )
    await create_product(
        shop.owner, db, shop.merchant_id, tee("MUG-1", title="Mug 100%", status="draft")
    )
    await create_product(rival.owner, db, rival.merchant_id, tee("TS-R", title="Tee rival"))

    everything = await list_products(shop.owner, db, shop.merchant_id, per_page=4)
    second = await list_products(shop.owner, db, shop.merchant_id, per_page=4, page=2)
    drafts = await list_products(shop.owner, db, shop.merchant_id, status="draft")
    by_sku = await list_products(shop.owner, db, shop.merchant_id, search="mug-1")
    by_title = await list_products(shop.owner, db, shop.merchant_id, search="TEE 3")
    by_percent = await list_products(shop.owner, db, shop.merchant_id, search="100%")
    no_match = await list_products(shop.owner, db, shop.merchant_id, search="100_")

    assert (everything.total, everything.pages, len(everything.items), len(second.items)) == (
        6,
        2,
        4,
        2,
    )
    assert [p.title for p in everything.items] == ["Mug 100%", "Tee 4", "Tee 3", "Tee 2"]
    assert [p.title for p in drafts.items] == ["Mug 100%"]
    assert [p.title for p in by_sku.items] == ["Mug 100%"]
    assert [p.title for p in by_percent.items] == ["Mug 100%"]
    assert [p.title for p in by_title.items] == ["Tee 3"]
    assert no_match.total == 0


async def test_a_stock_edit_made_during_a_live_sale_is_applied_on_top_of_what_sold(
    db: Database, shop: Shop
) -> None:
    product = await create_product(shop.owner, db, shop.merchant_id, tee("TS-S", "TS-M"))
    small, medium = product.variants  # the form shows 5 of each
    async with db.write() as tx:  # meanwhile, 3 smalls and 1 medium sell
        await tx.session.execute(update(Variant).where(Variant.id == small.id).values(stock=2))
        await tx.session.execute(update(Variant).where(Variant.id == medium.id).values(stock=4))

    updated = await update_product(
        shop.owner,
        db,
        product.id,
        tee(
            variants=[
                VariantDraft(id=small.id, sku="TS-S", price=1999, stock=15, stock_seen=5),
                VariantDraft(id=medium.id, sku="TS-M", price=1999, stock=5, stock_seen=5),
            ]
        ),
    )

    assert [v.stock for v in updated.variants] == [12, 4]


async def test_stock_is_adjusted_without_going_below_zero(db: Database, shop: Shop) -> None:
    product = await create_product(shop.owner, db, shop.merchant_id, tee("TS-1"))
    variant_id = product.variants[0].id

    added = await adjust_stock(shop.owner, db, variant_id, 10)
    with pytest.raises(ValidationFailed) as refused:
        await adjust_stock(shop.owner, db, variant_id, -16)

    assert added.stock == 15
    assert refused.value.errors == {"stock": "only 15 left; you can take away 15 at most"}
    assert (await get_product(shop.owner, db, product.id)).variants[0].stock == 15
