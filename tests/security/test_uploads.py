"""Every upload form (product photo, brand logo, show cover, catalog CSV) asked with what an
attacker or a careless person sends: a script named .jpg, an SVG carrying a script, a
decompression bomb, a file over the limit. Each is refused with a message naming the field
and the fix, and nothing is written. A picture with a script stuck to its end is stored
re-encoded, so the script is gone."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.security.world import World, png
from vitrine.core.pictures import NOT_AN_IMAGE

SCRIPT = b"<script>alert(document.cookie)</script>"
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)
LIMIT = 8 * 1024 * 1024  # VITRINE_MAX_UPLOAD_BYTES in the world
TOO_MANY_PIXELS = (
    "this image has too many pixels; the most is 50 megapixels — resize it and try again"
)
TOO_BIG = "this file is 8.0 MB; the limit is 8.0 MB — resize or compress it and try again"


def bomb() -> bytes:
    """400 megapixels in a few kilobytes."""
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, "PNG")
    return out.getvalue()


BAD_PICTURES = {
    "a page named .jpg": (
        ("photo.jpg", b"<html>" + SCRIPT + b"</html>", "image/jpeg"),
        NOT_AN_IMAGE,
    ),
    "an SVG with a script": (("logo.svg", SVG, "image/svg+xml"), NOT_AN_IMAGE),
    "an SVG named .png": (("logo.png", SVG, "image/png"), NOT_AN_IMAGE),
    "a decompression bomb": (("bomb.png", bomb(), "image/png"), TOO_MANY_PIXELS),
    "one byte over the limit": (
        ("big.png", png() + b"\0" * (LIMIT + 1 - len(png())), "image/png"),
        TOO_BIG,
    ),
}


def picture_forms(world: World) -> dict[str, tuple[str, str, str, dict[str, str]]]:
    """Each form that takes a picture: (who, where, the file's field, the other fields)."""
    merchant = world.ids["merchant_id"]
    return {
        "product photo": (
            "staff",
            f"/manage/{merchant}/catalog/{world.ids['product_id']}/images",
            "image",
            {},
        ),
        "brand logo": (
            "shopper",
            "/apply",
            "logo",
            {
                "brand_name": "Ana's Atelier",
                "handle": "ana-atelier",
                "description": "Hand-made bags",
                "website": "https://ana.example",
                "contact_email": "ana@example.com",
                "currency": "EUR",
                "time_zone": "Europe/Paris",
            },
        ),
        "show cover": (
            "staff",
            f"/manage/{merchant}/shows/new",
            "cover",
            {"title": "Covered", "starts_at": "2031-05-01T18:00", "expected_minutes": "30"},
        ),
    }


def stored_files(media: Path) -> set[Path]:
    return {path for path in media.rglob("*") if path.is_file()}


@pytest.mark.parametrize("bad", list(BAD_PICTURES))
async def test_each_picture_form_refuses_what_is_not_a_safe_picture(
    world: World, media_dir: Path, bad: str
) -> None:
    upload, message = BAD_PICTURES[bad]
    before = stored_files(media_dir)
    answers: dict[str, Any] = {}
    for form, (who, path, field, fields) in picture_forms(world).items():
        response = await world.browsers[who].submit(path, fields, files={field: upload})
        answers[form] = (response.status_code, message in response.text)

    assert answers == {form: (422, True) for form in picture_forms(world)}
    assert stored_files(media_dir) == before


async def test_a_picture_with_a_script_stuck_to_it_is_stored_without_it(
    world: World, media_dir: Path
) -> None:
    """A 'polyglot': a real PNG with HTML after its end. Re-encoding keeps only the pixels."""
    before = stored_files(media_dir)
    polyglot = png() + b"<html>" + SCRIPT + b"</html>"
    _, path, field, _ = picture_forms(world)["product photo"]

    added = await world.browsers["staff"].submit(
        path, files={field: ("photo.png", polyglot, "image/png")}
    )
    new = sorted(stored_files(media_dir) - before)
    served = await world.browsers["guest"].get(f"/media/{new[0].relative_to(media_dir)}")

    assert added.status_code == 303
    assert len(new) == 2  # the picture and its thumbnail
    assert all(SCRIPT not in file.read_bytes() for file in new)
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"


async def test_the_catalog_import_refuses_a_picture_or_a_binary_named_csv(world: World) -> None:
    path = f"/manage/{world.ids['merchant_id']}/catalog/import"
    staff = world.browsers["staff"]

    picture = await staff.submit(path, files={"file": ("catalog.csv", png(), "text/csv")})
    binary = await staff.submit(
        path, files={"file": ("catalog.csv", b"product_handle\0sku\n", "text/csv")}
    )

    assert picture.status_code == binary.status_code == 422
    assert "the file is not UTF-8 text (byte 1 cannot be read)" in picture.text
    assert "this is not a CSV text file; export your sheet as CSV UTF-8" in binary.text


async def test_a_body_far_over_the_limit_is_refused_before_it_is_read(world: World) -> None:
    """The server stops reading at the upload limit plus 1 MB of form: a clear 413, no 500."""
    _, path, field, _ = picture_forms(world)["product photo"]
    huge = b"\0" * (LIMIT + 2 * 1024 * 1024)

    refused = await world.browsers["staff"].submit(
        path, files={field: ("huge.png", huge, "image/png")}
    )

    assert refused.status_code == 413
    assert 'data-testid="error-detail"' in refused.text
