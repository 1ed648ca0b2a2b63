"""Product photos: the real type sniffed by Pillow (JPEG, PNG or WebP only), size-limited,
re-encoded so no EXIF (camera, GPS position) leaves the shop, with a thumbnail.

Files live under `<data_dir>/media/products/<product id>/`. Paths handed back and stored are
relative to `<data_dir>/media` (`products/7/3f9c….jpg`), which the app serves under /media/:
the URL of a photo is `"/media/" + path`, as for merchants' logos."""

from __future__ import annotations

import asyncio
import io
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select

from vitrine.accounts.actor import Actor
from vitrine.catalog.access import own_product
from vitrine.catalog.models import ProductImage
from vitrine.catalog.views import ImageView, image_view
from vitrine.core.db import Database
from vitrine.core.errors import NotFound, ValidationFailed

THUMBNAIL_PX = 400  # longest side of a thumbnail
LARGEST_PX = 2048  # longest side of a stored photo; bigger uploads are scaled down
MAX_PIXELS = 50_000_000  # refuse decompression bombs before decoding them
MAX_IMAGES = 20  # per product

_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
NOT_AN_IMAGE = "this file is not a JPEG, PNG or WebP image"


@dataclass(frozen=True, slots=True)
class _Encoded:
    content_type: str
    extension: str
    image: bytes
    thumbnail: bytes
    width: int
    height: int


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
    if len(data) > max_bytes:
        raise ValidationFailed(
            {
                "image": f"this file is {_size(len(data))}; the limit is {_size(max_bytes)} — "
                "resize or compress it and try again"
            }
        )
    async with db.read() as session:  # refuse someone else's product before decoding
        await own_product(session, actor, product_id)
    encoded = await asyncio.to_thread(_encode, data)
    media = data_dir / "media"
    folder = Path("products") / str(product_id)
    name = secrets.token_hex(8)
    relative = folder / f"{name}.{encoded.extension}"
    relative_thumbnail = folder / f"{name}-thumb.{encoded.extension}"
    (media / folder).mkdir(parents=True, exist_ok=True)
    (media / relative).write_bytes(encoded.image)
    (media / relative_thumbnail).write_bytes(encoded.thumbnail)
    try:
        async with db.write() as tx:
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
                path=relative.as_posix(),
                thumbnail_path=relative_thumbnail.as_posix(),
                content_type=encoded.content_type,
                width=encoded.width,
                height=encoded.height,
                position=0 if last is None else last + 1,
            )
            tx.session.add(image)
            await tx.session.flush()
            view = image_view(image)
    except BaseException:
        (media / relative).unlink(missing_ok=True)
        (media / relative_thumbnail).unlink(missing_ok=True)
        raise
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


def _encode(data: bytes) -> _Encoded:
    """Decode, check and re-encode (which drops EXIF); CPU-bound, run off the event loop."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(_FORMATS)) as probe:
                kind = probe.format or ""
                _refuse_huge(probe.width, probe.height)
                probe.load()
                picture = ImageOps.exif_transpose(probe)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        _refuse_huge(MAX_PIXELS + 1, 1)
        raise  # unreachable: _refuse_huge raised
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationFailed({"image": NOT_AN_IMAGE}) from None
    content_type, extension = _FORMATS[kind]
    picture = _storable(picture, kind)
    picture.thumbnail((LARGEST_PX, LARGEST_PX), Image.Resampling.LANCZOS)
    thumbnail = picture.copy()
    thumbnail.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
    return _Encoded(
        content_type=content_type,
        extension=extension,
        image=_save(picture, kind),
        thumbnail=_save(thumbnail, kind),
        width=picture.width,
        height=picture.height,
    )


def _refuse_huge(width: int, height: int) -> None:
    """A photo of a few kilobytes can claim billions of pixels: refuse before decoding it."""
    if width * height > MAX_PIXELS:
        size = f"{width} x {height} pixels" if height > 1 else "too many pixels"
        raise ValidationFailed(
            {
                "image": f"this image has {size}; the most is {MAX_PIXELS // 1_000_000} "
                "megapixels — resize it and try again"
            }
        )


def _storable(picture: Image.Image, kind: str) -> Image.Image:
    if kind == "JPEG":
        return picture if picture.mode in ("RGB", "L") else picture.convert("RGB")
    if picture.mode in ("RGB", "RGBA", "L", "LA"):
        return picture
    has_alpha = "A" in picture.mode or "transparency" in picture.info
    return picture.convert("RGBA" if has_alpha else "RGB")


def _save(picture: Image.Image, kind: str) -> bytes:
    out = io.BytesIO()
    if kind == "JPEG":
        picture.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    elif kind == "PNG":
        picture.save(out, "PNG", optimize=True)
    else:
        picture.save(out, "WEBP", quality=85, method=4)
    return out.getvalue()


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"
