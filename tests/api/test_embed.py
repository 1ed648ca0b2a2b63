"""The player on a merchant's own site: who may frame it (CSP frame-ancestors), what the frame
shows for each state of a show or channel, the oEmbed answer and the settings page."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import update

from tests.factories import make_merchant, make_show, make_user
from tests.integration.replay.helpers import (
    STARTED,
    add_pin,
    end_show_at,
    make_product,
    playlist,
    write_replay,
)
from tests.web import Browser
from vitrine.accounts.merchants import get_merchant
from vitrine.accounts.models import Merchant
from vitrine.config import Settings
from vitrine.core.db import Database
from vitrine.core.errors import ValidationFailed
from vitrine.shows.live_state import ShowLifecycle
from vitrine.shows.models import Show
from vitrine.web.pages.embed import parse_origins

SELF_ONLY = "frame-ancestors 'self'"


def frame_ancestors(csp: str) -> str:
    return next(part.strip() for part in csp.split(";") if "frame-ancestors" in part)


async def allow(db: Database, merchant_id: int, *origins: str) -> None:
    async with db.write() as tx:
        await tx.session.execute(
            update(Merchant)
            .where(Merchant.id == merchant_id)
            .values(embed_origins="\n".join(origins))
        )


def test_origins_are_scheme_host_and_port_only() -> None:
    assert parse_origins(
        " https://Shop.Example.com\nhttp://127.0.0.1:8123, https://shop.example.com/ \n\n"
    ) == ("https://shop.example.com", "http://127.0.0.1:8123")
    assert parse_origins("") == ()


@pytest.mark.parametrize(
    "bad",
    [
        "shop.example.com",
        "ftp://shop.example.com",
        "https://shop.example.com/videos",
        "https://shop.example.com?x=1",
        "https://user@shop.example.com",
        "https://*.example.com",
        "https://shop.example.com:99999",
        "javascript:alert(1)",
        "https://shop.example.com;script-src",
        "'unsafe-inline'",
    ],
)
def test_anything_more_or_less_than_an_origin_is_refused(bad: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_origins(bad)
    assert "is not a site's origin" in refused.value.errors["embed_origins"]


async def test_an_embed_names_only_the_listed_sites_in_frame_ancestors(
    db: Database, browser: Browser
) -> None:
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    await make_merchant(db, owner, "southwind")
    show = await make_show(db, owner, brand, title="Spring drop")
    await allow(db, brand.id, "https://shop.northwind.example", "http://127.0.0.1:8123")

    framed = await browser.get(f"/embed/shows/{show.id}")
    channel = await browser.get("/embed/brands/northwind")
    nobody_listed = await browser.get("/embed/brands/southwind")
    show_page = await browser.get(f"/shows/{show.id}")

    assert framed.status_code == 200
    assert frame_ancestors(framed.headers["content-security-policy"]) == (
        "frame-ancestors 'self' https://shop.northwind.example http://127.0.0.1:8123"
    )
    assert frame_ancestors(channel.headers["content-security-policy"]) == (
        "frame-ancestors 'self' https://shop.northwind.example http://127.0.0.1:8123"
    )
    assert frame_ancestors(nobody_listed.headers["content-security-policy"]) == SELF_ONLY
    assert "has no shows yet" in nobody_listed.text
    # every other page keeps refusing to be framed elsewhere
    assert frame_ancestors(show_page.headers["content-security-policy"]) == SELF_ONLY
    assert framed.headers["content-security-policy"].count("frame-ancestors") == 1


async def test_the_frame_follows_the_show_countdown_live_then_replay(
    db: Database, browser: Browser, settings: Settings
) -> None:
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    beanie = await make_product(
        db, brand.id, "Beanie", 2900, external_url="https://northwind.example/beanie"
    )
    show = await make_show(db, owner, brand, title="Spring drop", product_ids=(beanie,))

    scheduled = await browser.get(f"/embed/shows/{show.id}")
    await ShowLifecycle(db).stream_arrived(show.id)
    live = await browser.get(f"/embed/shows/{show.id}")
    await end_show_at(db, show.id, minutes=1)
    write_replay(settings.data_dir, show.id, playlist(*[(STARTED, 60.0)]))
    await add_pin(db, show.id, beanie, 12, 30)
    ended = await browser.get(f"/embed/shows/{show.id}")

    assert 'data-testid="countdown"' in scheduled.text
    assert "/static/js/countdown.js" in scheduled.text
    assert 'data-embed-live data-hls="/hls/' in live.text
    assert "/static/js/embed.js" in live.text
    base = settings.base_url
    # buying hands off to Vitrine in a new tab, or to the brand's own page
    assert (
        f'href="{base}/shows/{show.id}#shop" target="_blank" rel="noopener" data-testid="buy-{beanie}"'
        in live.text
    )
    assert 'href="https://northwind.example/beanie" target="_blank"' in live.text
    assert 'data-replay data-hls="/hls/' in ended.text
    assert f'data-offset="12.0" data-end="30.0" data-product-id="{beanie}"' in ended.text
    assert f'href="{base}/shows/{show.id}/replay#product-{beanie}" target="_blank"' in ended.text
    assert 'action="/cart/add"' not in ended.text  # no form: no cookies in a third-party frame
    assert "topbar" not in ended.text


async def test_the_channel_plays_live_else_next_else_latest_replay(
    db: Database, browser: Browser
) -> None:
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    old = await make_show(db, owner, brand, title="Old replay", hours=1)
    later = await make_show(db, owner, brand, title="Later show", hours=48)
    soon = await make_show(db, owner, brand, title="Soon show", hours=24)
    await end_show_at(db, old.id)

    def title(text: str) -> str:
        found = re.search(r'data-testid="embed-title">([^<]*)<', text)
        return found[1] if found else ""

    upcoming = title((await browser.get("/embed/brands/northwind")).text)
    await ShowLifecycle(db).stream_arrived(later.id)
    live = title((await browser.get("/embed/brands/northwind")).text)
    async with db.write() as tx:
        await tx.session.execute(
            update(Show).where(Show.id.in_((later.id, soon.id))).values(status="cancelled")
        )
    replay = title((await browser.get("/embed/brands/northwind")).text)

    assert (upcoming, live, replay) == ("Soon show", "Later show", "Old replay")
    missing = await browser.get("/embed/brands/nobody")
    assert missing.status_code == 404


async def test_oembed_describes_the_iframe_of_a_show_and_of_a_channel(
    db: Database, browser: Browser, settings: Settings
) -> None:
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    show = await make_show(db, owner, brand, title='Spring "drop" <live>')
    async with db.write() as tx:
        await tx.session.execute(
            update(Show).where(Show.id == show.id).values(cover_path="covers/spring.jpg")
        )
    base = settings.base_url

    of_show = await browser.get(
        "/oembed", params={"url": f"{base}/shows/{show.id}", "format": "json"}
    )
    of_brand = await browser.get(
        "/oembed", params={"url": f"{base}/brands/northwind", "maxwidth": "320"}
    )

    assert of_show.status_code == 200
    assert of_show.headers["content-type"] == "application/json"
    assert of_show.json() == {
        "version": "1.0",
        "type": "video",
        "provider_name": "Vitrine",
        "provider_url": base,
        "title": 'Spring "drop" <live>',
        "author_name": "Northwind",
        "author_url": f"{base}/brands/northwind",
        "html": (
            f'<iframe src="{base}/embed/shows/{show.id}" width="640" height="540" '
            'title="Spring &#34;drop&#34; &lt;live&gt;" style="border:0;max-width:100%" loading="lazy" '
            'allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>'
        ),
        "width": 640,
        "height": 540,
        "thumbnail_url": f"{base}/media/covers/spring.jpg",
        "thumbnail_width": 640,
        "thumbnail_height": 360,
    }
    assert of_brand.json()["html"] == (
        f'<iframe src="{base}/embed/brands/northwind" width="320" height="270" '
        'title="Northwind" style="border:0;max-width:100%" loading="lazy" '
        'allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>'
    )
    assert (of_brand.json()["width"], of_brand.json()["height"]) == (320, 270)
    assert "thumbnail_url" not in of_brand.json()


async def test_oembed_refuses_what_it_cannot_embed(
    db: Database, browser: Browser, settings: Settings
) -> None:
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    show = await make_show(db, owner, brand)
    base = settings.base_url

    xml = await browser.get("/oembed", params={"url": f"{base}/shows/{show.id}", "format": "xml"})
    elsewhere = await browser.get(
        "/oembed", params={"url": f"https://evil.example/shows/{show.id}"}
    )
    not_a_show = await browser.get("/oembed", params={"url": f"{base}/cart"})
    unknown = await browser.get("/oembed", params={"url": f"{base}/shows/999"})
    no_url = await browser.get("/oembed")

    assert (xml.status_code, elsewhere.status_code, not_a_show.status_code) == (501, 404, 404)
    assert (unknown.status_code, no_url.status_code) == (404, 422)


async def test_show_and_brand_pages_point_to_their_oembed(
    db: Database, browser: Browser, settings: Settings
) -> None:
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    show = await make_show(db, owner, brand, title="Spring drop")
    base = settings.base_url
    quoted = base.replace(":", "%3A")

    show_page = (await browser.get(f"/shows/{show.id}")).text
    brand_page = (await browser.get("/brands/northwind")).text

    assert (
        f'<link rel="alternate" type="application/json+oembed" '
        f'href="{base}/oembed?url={quoted}/shows/{show.id}&amp;format=json" title="Spring drop">'
    ) in show_page
    assert (
        f'<link rel="alternate" type="application/json+oembed" '
        f'href="{base}/oembed?url={quoted}/brands/northwind&amp;format=json" title="Northwind">'
    ) in brand_page


async def test_the_brand_lists_its_sites_and_copies_the_snippet(
    db: Database, browser: Browser, other_browser: Browser, settings: Settings
) -> None:
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    await make_user(db, "stranger@example.com")
    await browser.log_in("owner@example.com")
    await other_browser.log_in("stranger@example.com")

    page = await browser.get(f"/manage/{brand.id}/embed")
    saved = await browser.submit(
        f"/manage/{brand.id}/embed",
        {"embed_origins": "https://Shop.Northwind.example/\nhttp://127.0.0.1:8123"},
    )
    refused = await browser.submit(
        f"/manage/{brand.id}/embed", {"embed_origins": "https://shop.northwind.example/videos"}
    )
    stranger = await other_browser.submit(
        f"/manage/{brand.id}/embed", {"embed_origins": "https://evil.example"}
    )

    assert page.status_code == 200
    snippet = html.unescape(re.search(r'data-testid="channel-snippet"[^>]*>([^<]*)<', page.text)[1])
    assert snippet == (
        f'<iframe src="{settings.base_url}/embed/brands/northwind" width="640" height="540" '
        'title="Northwind" style="border:0;max-width:100%" loading="lazy" '
        'allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>'
    )
    assert (saved.status_code, saved.headers["location"]) == (
        303,
        f"/manage/{brand.id}/embed?saved=1",
    )
    assert refused.status_code == 422
    assert "“https://shop.northwind.example/videos” is not a site&#39;s origin" in refused.text
    assert stranger.status_code == 403
    stored = await get_merchant(db, brand.id)
    assert stored.embed_origins == "https://shop.northwind.example\nhttp://127.0.0.1:8123"
    shown = await browser.get(f"/manage/{brand.id}/embed?saved=1")
    assert 'data-testid="embed-saved"' in shown.text
    assert "https://shop.northwind.example\nhttp://127.0.0.1:8123</textarea>" in shown.text
