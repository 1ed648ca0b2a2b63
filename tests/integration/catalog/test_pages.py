"""The Shopping Manager's catalog pages, driven like a browser would."""

from __future__ import annotations

import asyncio
import html as html_lib
import io
import re

from PIL import Image

from tests.factories import make_merchant, make_user
from tests.web import Browser
from vitrine.core.db import Database


async def a_signed_in_merchant(db: Database, browser: Browser, handle: str = "acme") -> int:
    owner = await make_user(db, f"{handle}@example.com")
    merchant = await make_merchant(db, owner, handle)
    response = await browser.log_in(f"{handle}@example.com")
    assert response.status_code == 303
    return merchant.id


TEE = {
    "title": "Red tee",
    "description": "Soft",
    "status": "active",
    "currency": "EUR",
    "option1_name": "Size",
    "variants[0].sku": "TS-S",
    "variants[0].option1": "S",
    "variants[0].price": "19.99",
    "variants[0].stock": "3",
    "variants[2].sku": "TS-M",
    "variants[2].option1": "M",
    "variants[2].price": "21",
    "variants[2].compare_at_price": "25.00",
    "variants[2].stock": "0",
}


async def test_a_product_is_created_from_the_form_and_listed(
    db: Database, browser: Browser
) -> None:
    merchant_id = await a_signed_in_merchant(db, browser)

    created = await browser.submit(f"/manage/{merchant_id}/catalog/new", TEE)

    assert created.status_code == 303
    page = await browser.get(created.headers["location"])
    assert page.status_code == 200
    assert 'value="TS-M"' in page.text and 'value="21.00"' in page.text
    listing = await browser.get(f"/manage/{merchant_id}/catalog?q=ts-m")
    assert "Red tee" in listing.text
    assert "19.99 EUR \u2013 21.00 EUR" in listing.text


async def test_the_form_names_every_bad_field_with_the_forms_own_names(
    db: Database, browser: Browser
) -> None:
    merchant_id = await a_signed_in_merchant(db, browser)
    await browser.submit(f"/manage/{merchant_id}/catalog/new", TEE)

    refused = await browser.submit(
        f"/manage/{merchant_id}/catalog/new",
        {
            **TEE,
            "title": "Blue tee",
            "currency": "EURO",
            "variants[2].sku": "TS-X",
            "variants[2].stock": "-1",
            "variants[0].price": "abc",
        },
    )

    assert refused.status_code == 422
    assert 'data-error-for="currency"' in refused.text
    assert "&#39;EURO&#39; is not an ISO 4217 currency code" in refused.text
    assert 'data-error-for="variants[2].stock">must be 0 or more' in refused.text
    duplicate = await browser.submit(
        f"/manage/{merchant_id}/catalog/new", {**TEE, "title": "Blue tee"}
    )
    assert duplicate.status_code == 422
    assert (
        'data-error-for="variants[0].sku">SKU &#39;TS-S&#39; is already used by &#39;Red tee&#39;;'
        " choose another" in duplicate.text
    )
    assert 'data-error-for="variants[2].sku">SKU &#39;TS-M&#39; is already used' in duplicate.text


async def test_a_photo_is_uploaded_and_a_text_file_refused(db: Database, browser: Browser) -> None:
    merchant_id = await a_signed_in_merchant(db, browser)
    created = await browser.submit(f"/manage/{merchant_id}/catalog/new", TEE)
    product_path = created.headers["location"].split("?")[0]
    photo = io.BytesIO()
    Image.new("RGB", (800, 600), (10, 20, 30)).save(photo, "JPEG")

    uploaded = await browser.submit(
        product_path + "/images", files={"image": ("tee.jpg", photo.getvalue(), "image/jpeg")}
    )
    refused = await browser.submit(
        product_path + "/images", files={"image": ("tee.jpg", b"not a photo", "image/jpeg")}
    )

    assert uploaded.status_code == 303
    page = await browser.get(product_path)
    thumbnail = page.text.split('<img src="/media/', 1)[1].split('"', 1)[0]
    served = await browser.get("/media/" + thumbnail)
    assert served.status_code == 200
    assert Image.open(io.BytesIO(served.content)).size == (400, 300)
    assert refused.status_code == 422
    assert "this file is not a JPEG, PNG or WebP image" in refused.text


async def test_a_csv_import_shows_progress_then_the_outcome(db: Database, browser: Browser) -> None:
    merchant_id = await a_signed_in_merchant(db, browser)
    rows = "\n".join(f"tee-{n // 3},TEE-{n},Tee {n // 3},EUR,{n % 9}.50,{n}" for n in range(600))
    data = f"product_handle,sku,title,currency,price,stock\n{rows}\n".encode()

    started = await browser.submit(
        f"/manage/{merchant_id}/catalog/import", files={"file": ("tees.csv", data, "text/csv")}
    )

    assert started.status_code == 303
    job_path = started.headers["location"]
    for _ in range(100):
        status = (await browser.get(job_path + "/status")).json()
        if status["status"] != "running":
            break
        await asyncio.sleep(0.05)
    assert status == {
        "status": "succeeded",
        "total_rows": 600,
        "checked_rows": 600,
        "percent": 100,
        "saving": False,
        "created": 600,
        "updated": 0,
        "errors": 0,
    }
    page = await browser.get(job_path)
    assert "Imported 600 rows: 600 SKUs created, 0 updated." in page.text
    export = await browser.get(f"/manage/{merchant_id}/catalog/export.csv")
    assert export.headers["content-disposition"] == 'attachment; filename="acme-catalog.csv"'
    assert export.content.decode("utf-8-sig").splitlines()[1].startswith("tee-0,TEE-0,Tee 0,")


async def test_a_broken_csv_lists_its_errors_and_a_bad_file_is_refused_on_the_form(
    db: Database, browser: Browser
) -> None:
    merchant_id = await a_signed_in_merchant(db, browser)
    data = b"product_handle,sku,title,currency,price\ntee,TS-1,Tee,EUR,-1\n"

    started = await browser.submit(
        f"/manage/{merchant_id}/catalog/import", files={"file": ("bad.csv", data, "text/csv")}
    )
    for _ in range(100):
        if (await browser.get(started.headers["location"] + "/status")).json()[
            "status"
        ] != "running":
            break
        await asyncio.sleep(0.05)
    page = await browser.get(started.headers["location"])
    refused = await browser.submit(
        f"/manage/{merchant_id}/catalog/import",
        files={"file": ("latin.csv", "sku,prix\nTS-1,à\n".encode("latin-1"), "text/csv")},
    )

    assert "<td>2</td><td>price</td><td>must not be negative</td>" in page.text
    assert refused.status_code == 422
    assert "the file is not UTF-8 text" in refused.text


async def test_another_merchants_product_page_is_not_found(
    db: Database, browser: Browser, other_browser: Browser
) -> None:
    merchant_id = await a_signed_in_merchant(db, browser)
    created = await browser.submit(f"/manage/{merchant_id}/catalog/new", TEE)
    product_path = created.headers["location"].split("?")[0]
    await a_signed_in_merchant(db, other_browser, "rival")

    seen = await other_browser.get(product_path)
    changed = await other_browser.submit(product_path, {**TEE, "title": "Hacked"})
    listed = await other_browser.get(f"/manage/{merchant_id}/catalog")

    assert seen.status_code == 404
    assert "is not in your catalog" in seen.text
    assert changed.status_code == 404
    assert listed.status_code == 403
    assert "Red tee" in (await browser.get(product_path)).text


def form_values(html: str) -> dict[str, str]:
    """The fields of the product form as a browser would submit them."""
    form = html.split('data-testid="product-form"', 1)[1].split("</form>", 1)[0]
    values: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="file"' not in tag:
            values[html_lib.unescape(name.group(1))] = html_lib.unescape(
                value.group(1) if value else ""
            )
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        values[name] = html_lib.unescape(text)
    values["status"] = re.search(r'<option value="(\w+)" selected', form).group(1)  # type: ignore[union-attr]
    values.pop("_csrf_token", None)
    return values


async def test_saving_the_edit_form_unchanged_changes_nothing_and_adds_a_variant(
    db: Database, browser: Browser
) -> None:
    merchant_id = await a_signed_in_merchant(db, browser)
    created = await browser.submit(f"/manage/{merchant_id}/catalog/new", TEE)
    product_path = created.headers["location"].split("?")[0]
    before = form_values((await browser.get(product_path)).text)

    saved = await browser.submit(
        product_path,
        {
            **before,
            "variants[2].sku": "TS-L",
            "variants[2].option1": "L",
            "variants[2].price": "23",
        },
    )

    assert saved.status_code == 303
    after = form_values((await browser.get(product_path)).text)
    kept = {key: value for key, value in before.items() if not key.startswith("variants[2]")}
    assert {key: after[key] for key in kept} == kept
    assert (after["variants[2].sku"], after["variants[2].price"], after["variants[2].stock"]) == (
        "TS-L",
        "23.00",
        "0",
    )
    assert (before["title"], before["status"], before["variants[1].compare_at_price"]) == (
        "Red tee",
        "active",
        "25.00",
    )
