from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.integration.catalog.shops import Shop
from vitrine.catalog.csv_format import COLUMNS
from vitrine.catalog.csv_import import (
    CatalogImports,
    export_catalog,
    fail_interrupted_imports,
    import_catalog,
    import_status,
    recent_imports,
)
from vitrine.catalog.models import CatalogImport, ImportStatus, Product, ProductStatus, Variant
from vitrine.catalog.products import get_product, list_products
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.core.errors import NotAllowed, NotFound, ValidationFailed

HEADER = "product_handle,sku,title,description,status,currency,price,compare_at_price,stock,option1_name,option1_value,option2_name,option2_value"


def sheet(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def many_rows(count: int, *, handle_every: int = 4) -> list[str]:
    """`count` SKUs, four sizes per product."""
    sizes = ["S", "M", "L", "XL"]
    return [
        f"tee-{n // handle_every},TEE-{n},Tee {n // handle_every},Soft cotton,active,EUR,"
        f"{10 + n % 7}.99,,{n % 50},Size,{sizes[n % handle_every]},,"
        for n in range(count)
    ]


async def counts(db: Database) -> tuple[int, int]:
    async with db.read() as session:
        products = await session.scalar(select(func.count()).select_from(Product)) or 0
        variants = await session.scalar(select(func.count()).select_from(Variant)) or 0
    return products, variants


async def test_rows_sharing_a_handle_become_one_product_with_variants(
    db: Database, shop: Shop
) -> None:
    data = sheet(
        'red-tee,TS-RED-S,Red tee,"Organic, soft",active,EUR,19.99,24.99,3,Size,S,Colour,Red',
        "red-tee,TS-RED-M,,,,,19.99,,0,Size,M,Colour,Red",
        "mug,MUG-1,Mug,,,jpy,1500,,12,,,,",
    )

    job = await import_catalog(shop.owner, db, shop.merchant_id, "catalog.csv", data)

    assert (job.status, job.errors, job.total_rows, job.checked_rows) == (
        ImportStatus.SUCCEEDED,
        [],
        3,
        3,
    )
    assert (job.created_count, job.updated_count) == (3, 0)
    page = await list_products(shop.owner, db, shop.merchant_id)
    by_handle = {product.handle: product for product in page.items}
    tee, mug = by_handle["red-tee"], by_handle["mug"]
    assert (tee.title, tee.description, tee.status, tee.currency) == (
        "Red tee",
        "Organic, soft",
        ProductStatus.ACTIVE,
        "EUR",
    )
    assert [(v.sku, v.price, v.compare_at_price, v.stock, v.options) for v in tee.variants] == [
        ("TS-RED-S", 1999, 2499, 3, {"Size": "S", "Colour": "Red"}),
        ("TS-RED-M", 1999, None, 0, {"Size": "M", "Colour": "Red"}),
    ]
    assert (mug.status, mug.currency, mug.variants[0].price, mug.variants[0].options) == (
        ProductStatus.DRAFT,
        "JPY",
        1500,
        {},
    )


async def test_one_broken_row_among_5000_writes_nothing_and_lists_every_error(
    db: Database, shop: Shop
) -> None:
    rows = many_rows(5000)
    rows[2999] = "tee-749,TEE-2999,Tee 749,Soft cotton,active,EUR,-3.50,,many,Size,XL,Colour,"
    rows[4000] = rows[4000].replace(",EUR,", ",EURO,")

    job = await import_catalog(shop.owner, db, shop.merchant_id, "big.csv", sheet(*rows))

    assert job.status == ImportStatus.FAILED
    assert (job.total_rows, job.created_count, job.updated_count) == (5000, 0, 0)
    assert job.errors == [
        {"row": 3001, "column": "price", "message": "must not be negative"},
        {
            "row": 3001,
            "column": "stock",
            "message": "'many' is not a whole number; write how many, like 12",
        },
        {
            "row": 3001,
            "column": "option2_value",
            "message": "is empty but option2_name is 'Colour'; give the value, like M",
        },
        {
            "row": 4002,
            "column": "currency",
            "message": "'EURO' is not an ISO 4217 currency code; use one such as EUR, USD or GBP",
        },
    ]
    assert await counts(db) == (0, 0)


async def test_an_existing_sku_is_updated_and_a_new_one_created(db: Database, shop: Shop) -> None:
    await import_catalog(
        shop.owner,
        db,
        shop.merchant_id,
        "first.csv",
        sheet(
            "red-tee,TS-S,Red tee,,active,EUR,19.99,,3,Size,S,,",
            "red-tee,TS-M,,,,,19.99,,3,Size,M,,",
        ),
    )

    job = await import_catalog(
        shop.owner,
        db,
        shop.merchant_id,
        "second.csv",
        sheet(
            "red-tee,ts-m,Red tee (organic),,,EUR,21.00,25.00,7,Size,M,,",
            "red-tee,TS-L,,,,,22.00,,1,Size,L,,",
        ),
    )

    assert (job.status, job.created_count, job.updated_count) == (ImportStatus.SUCCEEDED, 1, 1)
    [tee] = (await list_products(shop.owner, db, shop.merchant_id)).items
    assert (tee.title, tee.status) == ("Red tee (organic)", ProductStatus.ACTIVE)
    assert [(v.sku, v.price, v.compare_at_price, v.stock) for v in tee.variants] == [
        ("TS-S", 1999, None, 3),
        ("ts-m", 2100, 2500, 7),
        ("TS-L", 2200, None, 1),
    ]


async def test_a_stock_only_file_changes_only_stock(db: Database, shop: Shop) -> None:
    await import_catalog(
        shop.owner,
        db,
        shop.merchant_id,
        "first.csv",
        sheet('red-tee,TS-S,Red tee,"Soft",active,EUR,19.99,29.99,3,Size,S,,'),
    )

    job = await import_catalog(
        shop.owner,
        db,
        shop.merchant_id,
        "stock.csv",
        sheet("red-tee,TS-S,,EUR,19.99,40", header="product_handle,sku,title,currency,price,stock"),
    )

    assert (job.status, job.created_count, job.updated_count) == (ImportStatus.SUCCEEDED, 0, 1)
    [tee] = (await list_products(shop.owner, db, shop.merchant_id)).items
    assert (tee.title, tee.description, tee.status) == ("Red tee", "Soft", ProductStatus.ACTIVE)
    assert [(v.price, v.compare_at_price, v.stock, v.options) for v in tee.variants] == [
        (1999, 2999, 40, {"Size": "S"})
    ]


async def test_rows_in_conflict_with_each_other_or_the_catalog_are_refused(
    db: Database, shop: Shop
) -> None:
    await import_catalog(
        shop.owner, db, shop.merchant_id, "first.csv", sheet("mug,MUG-1,Mug,,,EUR,9.00,,1,,,,")
    )

    job = await import_catalog(
        shop.owner,
        db,
        shop.merchant_id,
        "second.csv",
        sheet(
            "red-tee,TS-S,Red tee,,active,EUR,19.99,,3,Size,S,,",
            "red-tee,TS-S,,,,,19.99,,3,Size,M,,",
            "red-tee,TS-M,Blue tee,,draft,USD,19.99,,3,Size,M,,",
            "red-tee,MUG-1,,,,,19.99,,3,Size,L,,",
            "cap,CAP-1,,,,GBP,5.00,5.00,3,,,,",
        ),
    )

    assert job.errors == [
        {
            "row": 3,
            "column": "sku",
            "message": "SKU 'TS-S' is already on row 2; each row is one SKU",
        },
        {
            "row": 4,
            "column": "title",
            "message": "differs from row 2 of product 'red-tee'; rows of one product must agree"
            " — or leave it empty after the first row",
        },
        {
            "row": 4,
            "column": "status",
            "message": "differs from row 2 of product 'red-tee'; rows of one product must agree"
            " — or leave it empty after the first row",
        },
        {
            "row": 4,
            "column": "currency",
            "message": "differs from row 2 of product 'red-tee'; rows of one product must agree"
            " — or leave it empty after the first row",
        },
        {
            "row": 5,
            "column": "sku",
            "message": "SKU 'MUG-1' belongs to product 'mug'; use product_handle mug on this "
            "row or choose another SKU",
        },
        {
            "row": 6,
            "column": "compare_at_price",
            "message": "must be greater than the price (5.00 GBP); leave it empty if there is "
            "no reduction",
        },
    ]
    assert await counts(db) == (1, 1)


async def test_more_than_10000_rows_are_refused_up_front(db: Database, shop: Shop) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await import_catalog(
            shop.owner, db, shop.merchant_id, "huge.csv", sheet(*many_rows(10_001))
        )

    assert refused.value.errors == {
        "file": "the file has 10,001 rows; one import takes 10,000 at most — "
        "split it into several files"
    }
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(CatalogImport)) == 0
    assert await counts(db) == (0, 0)


async def test_a_file_that_is_not_utf8_is_refused_naming_the_fix(db: Database, shop: Shop) -> None:
    data = (
        sheet("red-tee,TS-1,Pull en laine à col roulé,,,EUR,59.00,,1,,,,")
        .decode()
        .encode("latin-1")
    )

    with pytest.raises(ValidationFailed) as refused:
        await import_catalog(shop.owner, db, shop.merchant_id, "latin1.csv", data)

    position = data.index(b"\xe0") + 1
    assert refused.value.errors == {
        "file": f"the file is not UTF-8 text (byte {position} cannot be read); in your "
        "spreadsheet choose Save as → 'CSV UTF-8' and import that file"
    }


async def test_a_utf8_file_with_a_byte_order_mark_and_semicolons_is_read(
    db: Database, shop: Shop
) -> None:
    data = "\ufeffproduct_handle;sku;title;currency;price\r\npull;PULL-1;Pull à col roulé;EUR;59,00\r\n"

    job = await import_catalog(shop.owner, db, shop.merchant_id, "excel.csv", data.encode())

    assert (job.status, job.created_count) == (ImportStatus.SUCCEEDED, 1)
    [pull] = (await list_products(shop.owner, db, shop.merchant_id)).items
    assert (pull.title, pull.variants[0].price) == ("Pull à col roulé", 5900)


async def test_a_wrong_header_is_refused_naming_the_columns(db: Database, shop: Shop) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await import_catalog(
            shop.owner,
            db,
            shop.merchant_id,
            "wrong.csv",
            sheet("tee,TS-1,Tee,EUR,red", header="product_handle,sku,name,currency,colour,sku"),
        )

    assert refused.value.errors == {
        "file": "the header is not right: unknown columns 'name', 'colour' (the columns are "
        + ", ".join(COLUMNS)
        + "); column 'sku' appears twice; missing columns title, price"
    }


async def test_an_empty_file_is_refused(db: Database, shop: Shop) -> None:
    with pytest.raises(ValidationFailed) as empty:
        await import_catalog(shop.owner, db, shop.merchant_id, "empty.csv", b"")
    with pytest.raises(ValidationFailed) as header_only:
        await import_catalog(shop.owner, db, shop.merchant_id, "header.csv", sheet())

    assert empty.value.errors == {
        "file": "the file is empty; its first line must be the header: " + ",".join(COLUMNS)
    }
    assert header_only.value.errors == {"file": "the file has a header but no product rows"}


async def test_export_then_import_changes_nothing(db: Database, shop: Shop, tmp_path: Path) -> None:
    await import_catalog(
        shop.owner,
        db,
        shop.merchant_id,
        "first.csv",
        sheet(
            'red-tee,TS-S,"=Red, ""tee""","Line one\nline two",active,EUR,19.99,24.99,3,Size,S,Colour,Red',
            "red-tee,TS-M,,,,,19.99,,0,Size,M,Colour,Red",
            "mug,MUG-1,Mug,,archived,JPY,1500,,12,,,,",
            "ring,RING-1,Ring,,draft,KWD,12.345,,1,Metal,Gold,,",
        ),
    )
    before = (await list_products(shop.owner, db, shop.merchant_id)).items
    export = tmp_path / "export.csv"
    export.write_bytes(await export_catalog(shop.owner, db, shop.merchant_id))

    job = await import_catalog(shop.owner, db, shop.merchant_id, "export.csv", export.read_bytes())

    assert (job.status, job.errors, job.created_count, job.updated_count) == (
        ImportStatus.SUCCEEDED,
        [],
        0,
        4,
    )
    after = {p.id: p for p in (await list_products(shop.owner, db, shop.merchant_id)).items}
    for product in before:
        again = after[product.id]
        assert (again.title, again.description, again.status, again.currency) == (
            product.title,
            product.description,
            product.status,
            product.currency,
        )
        assert again.variants == product.variants
    rows = list(csv.reader(io.StringIO(export.read_bytes().decode("utf-8-sig"))))
    assert rows[0] == list(COLUMNS)
    assert rows[1][:9] == [
        "red-tee",
        "TS-S",
        '\'=Red, "tee"',
        "Line one\nline two",
        "active",
        "EUR",
        "19.99",
        "24.99",
        "3",
    ]
    assert sorted(p.title for p in before) == ['=Red, "tee"', "Mug", "Ring"]


async def test_10000_rows_import_in_the_background_then_update_in_place(
    db: Database, shop: Shop
) -> None:
    imports = CatalogImports(db)
    data = sheet(*many_rows(10_000))

    job_id = await imports.start_import(shop.owner, shop.merchant_id, "big.csv", data)
    first_look = await import_status(shop.owner, db, job_id)
    await imports.wait(job_id)

    assert (first_look.status, first_look.total_rows) == (ImportStatus.RUNNING, 10_000)
    done = await import_status(shop.owner, db, job_id)
    assert (done.status, done.checked_rows, done.created_count, done.updated_count) == (
        ImportStatus.SUCCEEDED,
        10_000,
        10_000,
        0,
    )
    assert done.percent == 100
    assert await counts(db) == (2_500, 10_000)

    again = await imports.start_import(shop.owner, shop.merchant_id, "again.csv", data)
    await imports.wait(again)
    updated = await import_status(shop.owner, db, again)
    assert (updated.created_count, updated.updated_count) == (0, 10_000)
    assert [job.id for job in await recent_imports(shop.owner, db, shop.merchant_id)] == [
        again,
        job_id,
    ]
    await imports.aclose()


async def test_another_merchants_import_and_catalog_are_out_of_reach(
    db: Database, shop: Shop, rival: Shop
) -> None:
    job = await import_catalog(
        shop.owner, db, shop.merchant_id, "mine.csv", sheet("mug,MUG-1,Mug,,,EUR,9.00,,1,,,,")
    )

    with pytest.raises(NotFound) as hidden:
        await import_status(rival.owner, db, job.id)
    with pytest.raises(NotAllowed) as refused_import:
        await import_catalog(
            rival.owner,
            db,
            shop.merchant_id,
            "theirs.csv",
            sheet("mug,MUG-1,Hacked,,,EUR,0,,0,,,,"),
        )
    with pytest.raises(NotAllowed):
        await export_catalog(rival.owner, db, shop.merchant_id)

    assert hidden.value.detail == f"Import #{job.id} is not one of your imports"
    assert refused_import.value.detail == "Only this brand's owner and staff can do this"
    [mug] = (await list_products(shop.owner, db, shop.merchant_id)).items
    assert (await get_product(shop.owner, db, mug.id)).title == "Mug"


async def test_the_same_sku_in_another_merchants_catalog_is_no_conflict(
    db: Database, shop: Shop, rival: Shop
) -> None:
    await import_catalog(
        shop.owner, db, shop.merchant_id, "mine.csv", sheet("mug,MUG-1,Mug,,,EUR,9.00,,1,,,,")
    )

    job = await import_catalog(
        rival.owner, db, rival.merchant_id, "theirs.csv", sheet("cup,MUG-1,Cup,,,EUR,7.00,,1,,,,")
    )

    assert (job.status, job.created_count) == (ImportStatus.SUCCEEDED, 1)
    assert await counts(db) == (2, 2)


async def test_the_documented_example_file_imports(db: Database, shop: Shop) -> None:
    example = Path(__file__).parents[3] / "docs" / "catalog-example.csv"

    job = await import_catalog(shop.owner, db, shop.merchant_id, example.name, example.read_bytes())

    assert (job.status, job.errors, job.created_count) == (ImportStatus.SUCCEEDED, [], 4)
    titles = {
        p.handle: p.title for p in (await list_products(shop.owner, db, shop.merchant_id)).items
    }
    assert titles == {"red-tee": "Red tee", "mug": "Stoneware mug"}


async def test_imports_left_running_by_a_stopped_server_are_marked_failed(
    db: Database, shop: Shop
) -> None:
    async with db.write() as tx:
        tx.session.add(
            CatalogImport(
                merchant_id=shop.merchant_id,
                filename="old.csv",
                status=ImportStatus.RUNNING,
                total_rows=10,
                started_by=shop.owner.user_id,
                started_at=utc_now() - timedelta(minutes=5),
            )
        )

    failed = await fail_interrupted_imports(db, started_before=utc_now())

    [job] = await recent_imports(shop.owner, db, shop.merchant_id)
    assert (failed, job.status, job.errors) == (
        1,
        ImportStatus.FAILED,
        [
            {
                "row": 0,
                "column": "",
                "message": "the server stopped during this import; nothing was written — "
                "import the file again",
            }
        ],
    )
