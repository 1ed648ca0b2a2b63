"""Product photos: the real type sniffed by Pillow (JPEG, PNG or WebP only), size-limited,
re-encoded so no EXIF (camera, GPS position) leaves the shop, with a thumbnail.

Files live under `<data_dir>/media/products/<product id>/`. Paths handed back and stored are
relative to `<data_dir>/media` (`products/7/3f9c….jpg`), which the app serves under /media/:
the URL of a photo is `"/media/" + path`, as for merchants' logos."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from vitrine.accounts.actor import Actor
from vitrine.catalog.access import own_product
from vitrine.catalog.models import ProductImage
from vitrine.catalog.views import ImageView, image_view
from vitrine.core.db import Database
from vitrine.core.errors import NotFound, ValidationFailed
from vitrine.core.pictures import Upload, check_size, stored_for_write

MAX_IMAGES = 20  # per product


async def add_image(
    actor: Actor,
    db: Database,
    data_dir: Path,
    product_id: int,
    data: bytes,
    *,
    max_bytes: int,
) -> ImageView:
    """Store an uploaded photo of a product, after the product's last one."""
    check_size(data, max_bytes, field="image")
    async with db.read() as session:  # refuse someone else's product before decoding
        await own_product(session, actor, product_id)
    upload = Upload(data, data_dir / "media", max_bytes)
    async with (
        stored_for_write(upload, f"products/{product_id}", field="image") as stored,
        db.write() as tx,
    ):
        if stored is None:
            raise ValidationFailed({"image": "choose a photo to upload"})
        product = await own_product(tx.session, actor, product_id, for_update=True)
        count, last = (
            await tx.session.execute(
                select(func.count(ProductImage.id), func.max(ProductImage.position)).where(
                    ProductImage.product_id == product.id
                )
            )
        ).one()
        if count >= MAX_IMAGES:
            raise ValidationFailed(
                {"image": f"a product has {MAX_IMAGES} photos at most; remove one first"}
            )
        image = ProductImage(
            product_id=product.id,
            path=stored.path,
            thumbnail_path=stored.thumbnail_path,
            content_type=stored.content_type,
            width=stored.width,
            height=stored.height,
            position=0 if last is None else last + 1,
        )
        tx.session.add(image)
        await tx.session.flush()
        view = image_view(image)
    return view


async def remove_image(actor: Actor, db: Database, data_dir: Path, image_id: int) -> None:
    """Delete a photo and its files."""
    async with db.write() as tx:
        image = await tx.session.get(ProductImage, image_id)
        if image is None:
            raise NotFound(f"Photo #{image_id} is not in your catalog")
        try:
            await own_product(tx.session, actor, image.product_id)
        except NotFound:
            raise NotFound(f"Photo #{image_id} is not in your catalog") from None
        paths = [image.path, image.thumbnail_path]
        await tx.session.delete(image)
    for path in paths:
        (data_dir / "media" / path).unlink(missing_ok=True)
