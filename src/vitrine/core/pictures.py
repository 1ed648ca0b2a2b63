"""Uploaded pictures (product photos, brand logos, show covers): the real type sniffed by
Pillow (JPEG, PNG or WebP only), size-limited, re-encoded so no EXIF (camera, GPS position)
is published, scaled down, with a thumbnail. Paths are relative to the media directory the
app serves under /media/."""

from __future__ import annotations

import asyncio
import io
import secrets
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from vitrine.core.errors import ValidationFailed

THUMBNAIL_PX = 400  # longest side of a thumbnail
LARGEST_PX = 2048  # longest side of a stored picture; bigger uploads are scaled down
MAX_PIXELS = 50_000_000  # refuse decompression bombs before decoding them

_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
NOT_AN_IMAGE = "this file is not a JPEG, PNG or WebP image"


@dataclass(frozen=True, slots=True)
class Encoded:
    content_type: str
    extension: str
    image: bytes
    thumbnail: bytes
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class StoredPicture:
    path: str  # relative to the media directory
    thumbnail_path: str
    content_type: str
    width: int
    height: int

    def remove(self, media_dir: Path) -> None:
        for relative in (self.path, self.thumbnail_path):
            (media_dir / relative).unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class Upload:
    """A picture a person uploaded, and where pictures are kept."""

    data: bytes
    media_dir: Path
    max_bytes: int


async def store_upload(upload: Upload | None, folder: str, *, field: str) -> StoredPicture | None:
    """Check and store an uploaded picture (nothing uploaded: None)."""
    if upload is None or not upload.data:
        return None
    return await store_picture(
        upload.data, upload.media_dir, folder, max_bytes=upload.max_bytes, field=field
    )


@asynccontextmanager
async def stored_for_write(
    upload: Upload | None, folder: str, *, field: str
) -> AsyncIterator[StoredPicture | None]:
    """Store an upload before the write that records it (decoding stays outside the
    transaction); if the write fails, the files are removed again so none is left orphaned."""
    stored = await store_upload(upload, folder, field=field)
    try:
        yield stored
    except BaseException:
        if stored is not None and upload is not None:
            stored.remove(upload.media_dir)
        raise


def check_size(data: bytes, max_bytes: int, *, field: str) -> None:
    if len(data) > max_bytes:
        raise ValidationFailed(
            {
                field: f"this file is {size_text(len(data))}; the limit is "
                f"{size_text(max_bytes)} — resize or compress it and try again"
            }
        )


async def store_picture(
    data: bytes, media_dir: Path, folder: str, *, max_bytes: int, field: str
) -> StoredPicture:
    """Check, re-encode and write a picture and its thumbnail under `media_dir/folder`."""
    check_size(data, max_bytes, field=field)
    encoded = await asyncio.to_thread(encode, data, field)
    name = secrets.token_hex(8)
    relative = Path(folder) / f"{name}.{encoded.extension}"
    relative_thumbnail = Path(folder) / f"{name}-thumb.{encoded.extension}"
    (media_dir / folder).mkdir(parents=True, exist_ok=True)
    (media_dir / relative).write_bytes(encoded.image)
    (media_dir / relative_thumbnail).write_bytes(encoded.thumbnail)
    return StoredPicture(
        path=relative.as_posix(),
        thumbnail_path=relative_thumbnail.as_posix(),
        content_type=encoded.content_type,
        width=encoded.width,
        height=encoded.height,
    )


def encode(data: bytes, field: str = "image") -> Encoded:
    """Decode, check and re-encode (which drops EXIF); CPU-bound, run off the event loop."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(_FORMATS)) as probe:
                kind = probe.format or ""
                _refuse_huge(probe.width, probe.height, field)
                probe.load()
                picture = ImageOps.exif_transpose(probe)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        _refuse_huge(MAX_PIXELS + 1, 1, field)
        raise  # unreachable: _refuse_huge raised
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationFailed({field: NOT_AN_IMAGE}) from None
    content_type, extension = _FORMATS[kind]
    picture = _storable(picture, kind)
    picture.thumbnail((LARGEST_PX, LARGEST_PX), Image.Resampling.LANCZOS)
    thumbnail = picture.copy()
    thumbnail.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
    return Encoded(
        content_type=content_type,
        extension=extension,
        image=_save(picture, kind),
        thumbnail=_save(thumbnail, kind),
        width=picture.width,
        height=picture.height,
    )


def _refuse_huge(width: int, height: int, field: str) -> None:
    """A picture of a few kilobytes can claim billions of pixels: refuse before decoding it."""
    if width * height > MAX_PIXELS:
        size = f"{width} x {height} pixels" if height > 1 else "too many pixels"
        raise ValidationFailed(
            {
                field: f"this image has {size}; the most is {MAX_PIXELS // 1_000_000} "
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


def size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"
