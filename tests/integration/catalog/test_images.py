from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.integration.catalog.shops import Shop
from vitrine.catalog.drafts import ProductDraft, VariantDraft
from vitrine.catalog.images import add_image, remove_image
from vitrine.catalog.models import ProductImage
from vitrine.catalog.products import create_product, get_product
from vitrine.core.db import Database
from vitrine.core.errors import NotFound, ValidationFailed

LIMIT = 1024 * 1024


def photo(kind: str, size: tuple[int, int], *, gps: bool = False) -> bytes:
    picture = Image.new("RGBA" if kind == "PNG" else "RGB", size, (200, 30, 40))
    out = io.BytesIO()
    if gps:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"  # Make
        exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}  # GPS position
        picture.save(out, kind, exif=exif.tobytes())
    else:
        picture.save(out, kind)
    return out.getvalue()


async def a_product(db: Database, shop: Shop) -> int:
    draft = ProductDraft(
        title="Red tee", currency="EUR", variants=[VariantDraft(sku="TS-1", price=1999)]
    )
    return (await create_product(shop.owner, db, shop.merchant_id, draft)).id


async def images_in(db: Database) -> int:
    async with db.read() as session:
        return await session.scalar(select(func.count(ProductImage.id))) or 0


async def test_a_photo_is_stored_with_a_400px_thumbnail(
    db: Database, shop: Shop, tmp_path: Path
) -> None:
    product_id = await a_product(db, shop)

    image = await add_image(
        shop.owner, db, tmp_path, product_id, photo("JPEG", (1200, 800)), max_bytes=LIMIT
    )

    assert image.path.startswith(f"products/{product_id}/")
    assert image.path.endswith(".jpg")
    assert (image.content_type, image.width, image.height) == ("image/jpeg", 1200, 800)
    with Image.open(tmp_path / "media" / image.thumbnail_path) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("JPEG", (400, 267))
    with Image.open(tmp_path / "media" / image.path) as stored:
        assert stored.size == (1200, 800)
    assert (await get_product(shop.owner, db, product_id)).images == (image,)


async def test_png_and_webp_keep_their_type(db: Database, shop: Shop, tmp_path: Path) -> None:
    product_id = await a_product(db, shop)

    png = await add_image(
        shop.owner, db, tmp_path, product_id, photo("PNG", (300, 600)), max_bytes=LIMIT
    )
    webp = await add_image(
        shop.owner, db, tmp_path, product_id, photo("WEBP", (500, 500)), max_bytes=LIMIT
    )

    assert (png.content_type, png.path[-4:], png.position) == ("image/png", ".png", 0)
    assert (webp.content_type, webp.path[-5:], webp.position) == ("image/webp", ".webp", 1)
    with Image.open(tmp_path / "media" / png.thumbnail_path) as thumbnail:
        assert (thumbnail.size, thumbnail.mode) == ((200, 400), "RGBA")
    with Image.open(tmp_path / "media" / webp.thumbnail_path) as thumbnail:
        assert thumbnail.size == (400, 400)


async def test_a_huge_photo_is_scaled_down_to_2048px(
    db: Database, shop: Shop, tmp_path: Path
) -> None:
    product_id = await a_product(db, shop)

    image = await add_image(
        shop.owner, db, tmp_path, product_id, photo("PNG", (4096, 1024)), max_bytes=LIMIT
    )

    assert (image.width, image.height) == (2048, 512)


async def test_exif_such_as_the_gps_position_is_stripped(
    db: Database, shop: Shop, tmp_path: Path
) -> None:
    product_id = await a_product(db, shop)
    upload = photo("JPEG", (640, 480), gps=True)
    with Image.open(io.BytesIO(upload)) as original:
        assert len(original.getexif()) > 0

    image = await add_image(shop.owner, db, tmp_path, product_id, upload, max_bytes=LIMIT)

    for path in (image.path, image.thumbnail_path):
        with Image.open(tmp_path / "media" / path) as stored:
            assert dict(stored.getexif()) == {}
            assert "exif" not in stored.info
        assert b"PhoneMaker" not in (tmp_path / "media" / path).read_bytes()


async def test_a_text_file_named_jpg_is_refused_and_nothing_is_stored(
    db: Database, shop: Shop, tmp_path: Path
) -> None:
    product_id = await a_product(db, shop)
    fake = tmp_path / "upload" / "photo.jpg"
    fake.parent.mkdir()
    fake.write_text("I am a shopping list, not a photo\n")

    with pytest.raises(ValidationFailed) as refused:
        await add_image(
            shop.owner, db, tmp_path / "data", product_id, fake.read_bytes(), max_bytes=LIMIT
        )

    assert refused.value.errors == {"image": "this file is not a JPEG, PNG or WebP image"}
    assert await images_in(db) == 0
    assert not (tmp_path / "data").exists()


async def test_a_gif_or_a_truncated_jpeg_is_refused(
    db: Database, shop: Shop, tmp_path: Path
) -> None:
    product_id = await a_product(db, shop)
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    truncated = photo("JPEG", (800, 800))[:300]

    for upload in (gif.getvalue(), truncated):
        with pytest.raises(ValidationFailed) as refused:
            await add_image(shop.owner, db, tmp_path, product_id, upload, max_bytes=LIMIT)
        assert refused.value.errors == {"image": "this file is not a JPEG, PNG or WebP image"}
    assert await images_in(db) == 0


async def test_an_oversized_photo_is_refused_with_the_limit(
    db: Database, shop: Shop, tmp_path: Path
) -> None:
    product_id = await a_product(db, shop)
    upload = photo("PNG", (64, 64)) + b"\0" * LIMIT

    with pytest.raises(ValidationFailed) as refused:
        await add_image(shop.owner, db, tmp_path, product_id, upload, max_bytes=LIMIT)

    assert refused.value.errors == {
        "image": "this file is 1.0 MB; the limit is 1.0 MB — resize or compress it and try again"
    }
    assert await images_in(db) == 0


async def test_a_photo_cannot_be_added_to_or_removed_from_another_merchants_product(
    db: Database, shop: Shop, rival: Shop, tmp_path: Path
) -> None:
    product_id = await a_product(db, shop)
    image = await add_image(
        shop.owner, db, tmp_path, product_id, photo("JPEG", (50, 50)), max_bytes=LIMIT
    )

    with pytest.raises(NotFound) as hidden:
        await add_image(
            rival.owner, db, tmp_path, product_id, photo("JPEG", (50, 50)), max_bytes=LIMIT
        )
    assert hidden.value.detail == f"Product #{product_id} is not in your catalog"
    with pytest.raises(NotFound) as hidden_photo:
        await remove_image(rival.owner, db, tmp_path, image.id)
    assert hidden_photo.value.detail == f"Photo #{image.id} is not in your catalog"

    assert await images_in(db) == 1
    assert (tmp_path / "media" / image.path).exists()


async def test_removing_a_photo_deletes_its_files(db: Database, shop: Shop, tmp_path: Path) -> None:
    product_id = await a_product(db, shop)
    image = await add_image(
        shop.owner, db, tmp_path, product_id, photo("JPEG", (50, 50)), max_bytes=LIMIT
    )

    await remove_image(shop.owner, db, tmp_path, image.id)

    assert await images_in(db) == 0
    assert not (tmp_path / "media" / image.path).exists()
    assert not (tmp_path / "media" / image.thumbnail_path).exists()


async def test_a_tiny_file_claiming_a_huge_picture_is_refused_before_decoding(
    db: Database, shop: Shop, tmp_path: Path
) -> None:
    product_id = await a_product(db, shop)
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, "PNG")  # 64 megapixels in 8 KB
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, "PNG")  # 400 megapixels: Pillow's own alarm

    with pytest.raises(ValidationFailed) as refused:
        await add_image(shop.owner, db, tmp_path, product_id, out.getvalue(), max_bytes=LIMIT)
    with pytest.raises(ValidationFailed) as bombed:
        await add_image(shop.owner, db, tmp_path, product_id, bomb.getvalue(), max_bytes=LIMIT)

    assert refused.value.errors == {
        "image": "this image has 8000 x 8000 pixels; the most is 50 megapixels — "
        "resize it and try again"
    }
    assert bombed.value.errors == {
        "image": "this image has too many pixels; the most is 50 megapixels — resize it and try again"
    }
    assert await images_in(db) == 0


async def test_an_empty_upload_asks_for_a_photo(db: Database, shop: Shop, tmp_path: Path) -> None:
    product_id = await a_product(db, shop)

    with pytest.raises(ValidationFailed) as refused:
        await add_image(shop.owner, db, tmp_path, product_id, b"", max_bytes=LIMIT)

    assert refused.value.errors == {"image": "choose a photo to upload"}
    assert await images_in(db) == 0
