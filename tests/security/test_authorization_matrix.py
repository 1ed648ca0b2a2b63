"""Who may do what: every route of the app asked by every kind of person, against one table.

Roles (columns, left to right, least trusted first):
  gst  a guest                            shp  Ana, a shopper who bought from Northwind
  otk  Bolt's API token                   oth  staff of Bolt, another brand
  tok  Northwind's API token              opr  the operator of this Vitrine
  hst  a creator invited as host (MemberRole.HOST) of Northwind's live show: a member
       of the brand without catalog or order rights, who runs the shows they host
  stf  Northwind's staff                  own  Northwind's owner
Cells: A allowed (done, or told what to fix in the form), L sign in first (401 or a redirect
to the log-in page), F forbidden (403), N not found (404: the thing is not theirs to know of).

Forms are sent empty, so a route that validated input before checking who asks would answer a
stranger with 422 and show up here. A route added later without a row fails the first test.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from litestar import Litestar

from tests.security.asking import (
    ASKED,
    FORBIDDEN,
    NOT_FOUND,
    REFUSALS,
    Asked,
    Route,
    ask,
    fill,
    is_clear_refusal,
    outcome,
    routes_of,
)
from tests.security.world import (
    ADDRESS_LINE,
    EMBEDDING_SITE,
    ROLES,
    SECRET_PRODUCT,
    SIMULCAST,
    World,
)
from tests.web import CSRF_COOKIE
from vitrine.logs import configure

COLUMNS = ("gst", "otk", "tok", "shp", "oth", "opr", "hst", "stf", "own")
assert len(COLUMNS) == len(ROLES)

# Named rows for the common rules; the rest spell themselves out.
#                  gst otk tok shp oth opr hst stf own
EVERYONE = "A   A   A   A   A   A   A   A   A"
SIGNED_IN = "L   L   L   A   A   A   A   A   A"
MANAGERS = "L   L   L   F   F   F   F   A   A"  # the brand's owner and staff
MEMBERS = "L   L   L   F   F   F   A   A   A"  # ... and its invited hosts
FIGURES = "L   L   L   F   F   A   A   A   A"  # the brand's people and the operator
HOSTS = "L   L   L   N   N   N   A   A   A"  # of this show; others never hear of it
OPERATOR = "L   L   L   F   F   A   F   F   F"
PRODUCT = "L   L   L   N   N   N   F   A   A"  # one of the catalog's (drafts too)
ORDER = "L   L   L   A   N   A   N   A   A"  # its buyer, the brand's managers, operator
API_WRITE = "L   F   A   L   L   L   L   L   L"  # Northwind's token; cookies count for nothing
API_PRODUCT = "L   N   A   L   L   L   L   L   L"
MODERATORS = "L   L   L   F   F   F   A   A   A"  # hosts, managers, appointed moderators
NOWHERE = "N   N   N   N   N   N   N   N   N"

EXPECTED: dict[str, str] = {
    # signing in, and what anyone may read
    "GET /": EVERYONE,
    "GET /signup": EVERYONE,
    "POST /signup": EVERYONE,
    "GET /login": EVERYONE,
    "POST /login": EVERYONE,
    "POST /logout": EVERYONE,
    "GET /brands/{handle:str}": EVERYONE,
    "GET /shows/{show_id:int}": EVERYONE,
    "GET /shows/{show_id:int}/shop": EVERYONE,
    "GET /shows/{show_id:int}/replay": EVERYONE,
    "GET /shows/{show_id:int}/calendar.ics": EVERYONE,
    "GET /shows/{show_id:int}/products/{product_id:int}/visit": EVERYONE,
    "POST /shows/{show_id:int}/clicks": EVERYONE,
    "GET /search": EVERYONE,
    "GET /categories": EVERYONE,
    "GET /categories/{name:str}": EVERYONE,
    "GET /embed/shows/{show_id:int}": EVERYONE,
    "GET /embed/brands/{handle:str}": EVERYONE,
    "GET /oembed": EVERYONE,
    "GET /static/{file_path:path}": EVERYONE,
    "GET /media/{file_path:path}": EVERYONE,  # product photos and logos are public
    "GET /healthz": EVERYONE,
    "GET /readyz": EVERYONE,
    "GET /metrics": EVERYONE,  # for Prometheus; docs/security.md: deny it at the public nginx
    "GET /unsubscribe/{token:str}": EVERYONE,  # the signed link is the proof
    "POST /unsubscribe/{token:str}": EVERYONE,
    "POST /payments/webhook": EVERYONE,  # the gateway's signature is checked (400 without)
    # the shopper
    "GET /cart": EVERYONE,
    "GET /cart/count": EVERYONE,
    "POST /cart/add": EVERYONE,
    "POST /cart/quantity": EVERYONE,
    "GET /checkout": SIGNED_IN,
    "POST /checkout": SIGNED_IN,
    "POST /deals/{deal_id:int}/buy": SIGNED_IN,
    "POST /brands/{handle:str}/follow": SIGNED_IN,
    "POST /shows/{show_id:int}/remind": SIGNED_IN,
    "GET /notifications": SIGNED_IN,
    "GET /notifications/unread": EVERYONE,  # 0 for a guest
    "POST /notifications/email": SIGNED_IN,
    "GET /orders": SIGNED_IN,
    "GET /orders/{order_id:int}": ORDER,
    "GET /orders/{order_id:int}/pay": ORDER,  # paid already: sent on to the order
    "GET /orders/{order_id:int}/status": "N   N   N   A   N   A   N   A   A",
    "POST /orders/{order_id:int}/pay": "N   N   N   A   N   N   N   N   N",
    # a won deal's way to payment: its buyer only (the order is created then)
    "GET /deals/holds/{hold_id:int}/pay": "L   L   L   A   N   N   N   N   N",
    "POST /deals/holds/{hold_id:int}/pay": "L   L   L   A   N   N   N   N   N",
    "POST /orders/{order_id:int}/cancel": "L   L   L   A   N   F   N   A   A",
    "POST /payments/{payment_id:int}/confirm": "L   L   L   A   N   N   N   N   N",
    # applying, and the brand's back office
    "GET /apply": SIGNED_IN,
    "POST /apply": SIGNED_IN,
    "GET /manage": SIGNED_IN,
    "GET /manage/{merchant_id:int}": MEMBERS,
    "GET /manage/{merchant_id:int}/team": MANAGERS,
    "POST /manage/{merchant_id:int}/team": "L   L   L   F   F   F   F   F   A",  # owner only
    "POST /manage/{merchant_id:int}/tokens": MANAGERS,
    "POST /manage/{merchant_id:int}/tokens/{token_id:int}/revoke": MANAGERS,
    "GET /manage/{merchant_id:int}/embed": MANAGERS,
    "POST /manage/{merchant_id:int}/embed": MANAGERS,
    "GET /manage/{merchant_id:int}/catalog": MANAGERS,
    "GET /manage/{merchant_id:int}/catalog/new": MANAGERS,
    "POST /manage/{merchant_id:int}/catalog/new": MANAGERS,
    "GET /manage/{merchant_id:int}/catalog/export.csv": MANAGERS,
    "GET /manage/{merchant_id:int}/catalog/import": MANAGERS,
    "POST /manage/{merchant_id:int}/catalog/import": MANAGERS,
    "GET /manage/{merchant_id:int}/catalog/imports/{job_id:int}": PRODUCT,
    "GET /manage/{merchant_id:int}/catalog/imports/{job_id:int}/status": PRODUCT,
    "GET /manage/{merchant_id:int}/catalog/{product_id:int}": PRODUCT,
    "POST /manage/{merchant_id:int}/catalog/{product_id:int}": PRODUCT,
    "POST /manage/{merchant_id:int}/catalog/{product_id:int}/status": PRODUCT,
    "POST /manage/{merchant_id:int}/catalog/{product_id:int}/images": PRODUCT,
    # the staff's request deleted the photo: the owner's finds nothing
    "POST /manage/{merchant_id:int}/catalog/{product_id:int}/images/{image_id:int}/delete": (
        "L   L   L   N   N   N   F   A   N"
    ),
    "GET /manage/{merchant_id:int}/orders": MANAGERS,
    "GET /manage/{merchant_id:int}/orders.csv": MANAGERS,
    "GET /manage/{merchant_id:int}/orders/{order_id:int}": MANAGERS,
    "POST /manage/{merchant_id:int}/orders/{order_id:int}/{action:str}": MANAGERS,
    "GET /manage/{merchant_id:int}/payouts": MANAGERS,
    "GET /manage/{merchant_id:int}/analytics": FIGURES,
    "GET /manage/{merchant_id:int}/analytics.csv": FIGURES,
    "GET /manage/{merchant_id:int}/shows/{show_id:int}/analytics": FIGURES,
    "GET /manage/{merchant_id:int}/shows/{show_id:int}/analytics.csv": FIGURES,
    "GET /manage/{merchant_id:int}/shows/new": MANAGERS,
    "POST /manage/{merchant_id:int}/shows/new": MANAGERS,
    "GET /manage/{merchant_id:int}/shows/{show_id:int}": MEMBERS,
    "GET /manage/{merchant_id:int}/shows/{show_id:int}/edit": MANAGERS,
    "POST /manage/{merchant_id:int}/shows/{show_id:int}/edit": MANAGERS,
    "POST /manage/{merchant_id:int}/shows/{show_id:int}/cancel": MANAGERS,
    "POST /manage/{merchant_id:int}/shows/{show_id:int}/key": HOSTS,
    # the studio: the show's hosts and the brand's managers run it
    "GET /studio/{show_id:int}": HOSTS,
    "GET /studio/{show_id:int}/stream": "N   N   N   N   N   N   A   A   A",
    "GET /studio/{show_id:int}/analytics.json": FIGURES,
    "POST /studio/{show_id:int}/go-live": HOSTS,
    "POST /studio/{show_id:int}/end": HOSTS,
    "POST /studio/{show_id:int}/pin": HOSTS,
    "POST /studio/{show_id:int}/lineup": HOSTS,
    "POST /studio/{show_id:int}/announce": HOSTS,
    "POST /studio/{show_id:int}/deals": HOSTS,
    "POST /studio/{show_id:int}/deals/{deal_id:int}/end": HOSTS,
    "POST /studio/{show_id:int}/slow-mode": HOSTS,
    "POST /studio/{show_id:int}/messages/{message_id:int}/{action:str}": MODERATORS,
    "POST /studio/{show_id:int}/users/{user_id:int}/{action:str}": MODERATORS,
    # video: the replay's MP4 download is the brand's; nginx-rtmp's callbacks are off here
    "GET /hls/{path:path}": MANAGERS,
    "POST /media/nginx/on_publish": NOWHERE,  # and denied at the public nginx
    "POST /media/nginx/on_publish_done": NOWHERE,
    # the operator
    "GET /admin": OPERATOR,
    "GET /admin/totals": OPERATOR,
    "GET /admin/analytics": OPERATOR,
    "GET /admin/analytics.csv": OPERATOR,
    "POST /admin/merchants/{merchant_id:int}/decision": OPERATOR,
    "POST /admin/merchants/{merchant_id:int}/commission": OPERATOR,
    # the partners' API: reads of public data need no token
    "GET /api/v1": EVERYONE,
    "GET /api/v1/openapi.json": EVERYONE,
    "GET /api/v1/openapi.yaml": EVERYONE,
    "GET /api/v1/openapi.yml": EVERYONE,
    "GET /api/v1/{path:str}": NOWHERE,
    "GET /api/v1/merchants": EVERYONE,
    "GET /api/v1/merchants/{handle:str}": EVERYONE,
    "GET /api/v1/merchants/{handle:str}/products": EVERYONE,
    "GET /api/v1/merchants/{handle:str}/shows": EVERYONE,
    "GET /api/v1/shows/{show_id:int}": EVERYONE,
    "POST /api/v1/merchants/{handle:str}/products": API_WRITE,
    "POST /api/v1/merchants/{handle:str}/shows": API_WRITE,
    "PATCH /api/v1/shows/{show_id:int}": API_WRITE,
    "POST /api/v1/shows/{show_id:int}/cancel": API_WRITE,
    "GET /api/v1/products/{product_id:int}": API_PRODUCT,
    "PATCH /api/v1/products/{product_id:int}": API_PRODUCT,
    "POST /api/v1/products/{product_id:int}/archive": API_PRODUCT,
}

LAST = ("POST /logout",)  # everyone signs out at the very end


@dataclass(frozen=True)
class Answer:
    route: Route
    role: str
    path: str
    response: httpx.Response


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def log_lines() -> Iterator[list[str]]:
    """Everything the app logs while the table is asked, configured as `vitrine serve` does
    with VITRINE_LOG_LEVEL=DEBUG, its most talkative."""
    root = logging.getLogger()
    handlers = root.handlers[:]
    levels = {name: logging.getLogger(name).level for name in [*root.manager.loggerDict, ""]}
    configure("DEBUG", "text")
    kept = Kept()
    root.addHandler(kept)
    yield kept.lines
    root.handlers[:] = handlers
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture(scope="module")
async def answers(
    world: World, shared_app: Litestar, log_lines: list[str]
) -> dict[tuple[str, str], Answer]:
    """Every route asked by every role, once, route by route in the order of the table."""
    routes = sorted(routes_of(shared_app), key=lambda route: route.key in LAST)
    found: dict[tuple[str, str], Answer] = {}
    for route in routes:
        asked = ASKED.get(route.key, Asked())
        path = fill(route, world.ids, asked)
        for role in ROLES:
            response = await ask(world, role, route, path, form=asked.form, body=asked.body)
            found[route.key, role] = Answer(route, role, path, response)
    await world.log_in_again()  # the last row signed everyone out
    return found


def row(answers: dict[tuple[str, str], Answer], key: str) -> str:
    return "   ".join(outcome(answers[key, role].response) for role in ROLES)


async def test_every_route_of_the_app_has_a_row_in_the_table(shared_app: Litestar) -> None:
    served = {route.key for route in routes_of(shared_app)}

    assert sorted(served - set(EXPECTED)) == []  # a new route: decide who may use it
    assert sorted(set(EXPECTED) - served) == []  # a row for a route that is gone


async def test_each_person_gets_what_the_table_says(
    answers: dict[tuple[str, str], Answer],
) -> None:
    keys = sorted({key for key, _ in answers})
    actual = {key: row(answers, key) for key in keys}

    wrong = [
        f"{key!r}: {actual[key]!r},  # expected {EXPECTED.get(key)!r}"
        for key in keys
        if actual[key].split() != EXPECTED.get(key, "").split()
    ]
    assert wrong == [], "\n" + "\n".join(wrong)


async def test_every_refusal_is_a_page_or_problem_a_person_can_act_on(
    answers: dict[tuple[str, str], Answer],
) -> None:
    unclear = [
        f"{answer.route.key} as {answer.role}: {answer.response.status_code} "
        f"{answer.response.headers.get('content-type')}"
        for answer in answers.values()
        if outcome(answer.response) in REFUSALS
        and not is_clear_refusal(answer.route, answer.response)
    ]

    assert unclear == []


# Who may read each secret of the world anywhere in an answer (its body or its redirect).
SEEN_ONLY_BY = {
    "the live show's stream key": {"host", "staff", "owner"},
    "the simulcast destination's key": {"staff", "owner"},
    "the draft product": {"token", "staff", "owner"},
    "Ana's address": {"shopper", "staff", "owner", "operator"},
    "Ana's e-mail": {"shopper", "staff", "owner", "operator"},
    "Bolt's stream key": set(),  # Bolt's staff only ever ask for Northwind's things here
    "Northwind's API token": set(),  # shown once, when issued
}


def secrets_of(world: World, keys: dict[str, str]) -> dict[str, str]:
    return {
        "the live show's stream key": keys["live"],
        "the simulcast destination's key": SIMULCAST.rsplit("/", 1)[1],
        "the draft product": SECRET_PRODUCT,
        "Ana's address": ADDRESS_LINE,
        "Ana's e-mail": world.emails["shopper"],
        "Bolt's stream key": keys["bolt"],
        "Northwind's API token": world.tokens["token"],
    }


async def test_secrets_reach_only_the_people_they_belong_to(
    world: World, answers: dict[tuple[str, str], Answer]
) -> None:
    secrets = secrets_of(world, await world.stream_keys_by_show())
    seen: dict[str, set[str]] = {name: set() for name in secrets}
    for answer in answers.values():
        text = answer.response.text + answer.response.headers.get("location", "")
        for name, secret in secrets.items():
            if secret in text:
                seen[name].add(answer.role)

    assert {name: roles - SEEN_ONLY_BY[name] for name, roles in seen.items()} == {
        name: set() for name in secrets
    }
    # and the test looks for the right strings: each is seen where it belongs
    assert "host" in seen["the live show's stream key"]
    assert seen["the simulcast destination's key"] == {"staff", "owner"}
    assert "token" in seen["the draft product"]
    assert "shopper" in seen["Ana's address"]


async def test_the_log_of_the_whole_table_names_no_secret(
    world: World, answers: dict[tuple[str, str], Answer], log_lines: list[str]
) -> None:
    """Keys were rotated, shows ended, forms refused: none of it puts a secret in the log."""
    secrets = secrets_of(world, await world.stream_keys_by_show())
    secrets["the spare show's rotated key"] = await world.stream_key(world.ids["spare_show_id"])
    logged = "\n".join(log_lines)

    assert len(answers) > 1000 and log_lines != []
    assert [name for name, secret in secrets.items() if secret in logged] == []


async def test_another_brands_staff_get_nothing_through_their_own_brands_pages(
    world: World, answers: dict[tuple[str, str], Answer]
) -> None:
    """Bolt's staff put Bolt's id in the path and Northwind's show, product, order... after it:
    each such page must check that the thing belongs to the brand in the path."""
    mixed = sorted(
        {
            answer.route
            for answer in answers.values()
            if "{merchant_id:int}" in answer.route.path and answer.route.path.count("{") > 1
        },
        key=lambda route: route.key,
    )
    let_through = []
    for route in mixed:
        asked = ASKED.get(route.key, Asked())
        path = fill(
            route, world.ids, Asked(path={**asked.path, "merchant_id": "other_merchant_id"})
        )
        response = await ask(world, "other_staff", route, path, form=asked.form)
        text = response.text
        if outcome(response) not in (FORBIDDEN, NOT_FOUND) or not is_clear_refusal(route, response):
            let_through.append(f"{route.key}: {response.status_code}")
        elif SECRET_PRODUCT in text or ADDRESS_LINE in text or "Spring live" in text:
            let_through.append(f"{route.key}: refused, but names Northwind's things")

    assert len(mixed) > 10  # the test finds the routes it is about
    assert let_through == []


EMBEDS = ("GET /embed/shows/{show_id:int}", "GET /embed/brands/{handle:str}")
SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def policy(csp: str) -> dict[str, str]:
    directives = (part.strip().split(None, 1) for part in csp.split(";") if part.strip())
    return {words[0]: words[1] if len(words) > 1 else "" for words in directives}


async def test_every_answer_carries_the_security_headers(
    answers: dict[tuple[str, str], Answer],
) -> None:
    """Pages, errors, redirects, JSON, CSV, files: the browser is told the same everywhere.
    Only the embeddable player may be framed, and only by the sites the brand listed."""
    wrong = []
    for (key, role), answer in answers.items():
        headers = answer.response.headers
        csp = policy(headers.get("content-security-policy", ""))
        framers = "'self' " + EMBEDDING_SITE if key in EMBEDS else "'self'"
        checks = {
            "nosniff": headers.get("x-content-type-options") == "nosniff",
            "referrer": headers.get("referrer-policy") == "strict-origin-when-cross-origin",
            "script-src": csp.get("script-src") == "'self'",
            "no inline": "unsafe-inline" not in csp.get("default-src", "unsafe-inline"),
            "object-src": csp.get("object-src") == "'none'",
            "frame-ancestors": csp.get("frame-ancestors") == framers,
        }
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            wrong.append(f"{key} as {role}: {failed}")

    assert wrong == []


async def test_no_page_has_an_inline_script_or_event_handler(
    answers: dict[tuple[str, str], Answer],
) -> None:
    """The CSP would block them: a page relying on one would be broken, not just unsafe. Data
    for scripts travels as <script type="application/json">, which never runs."""
    pages = [
        answer
        for answer in answers.values()
        if answer.response.headers.get("content-type", "").startswith("text/html")
    ]
    inline = []
    for answer in pages:
        for attributes in SCRIPT.findall(answer.response.text):
            if "src=" not in attributes and 'type="application/json"' not in attributes:
                inline.append(f"{answer.route.key} as {answer.role}: <script{attributes}>")
        if INLINE_HANDLER.search(answer.response.text):
            inline.append(f"{answer.route.key} as {answer.role}: an on…= handler")

    assert len(pages) > 300
    assert inline == []


async def test_the_brands_replay_download_is_kept_by_no_shared_cache(
    answers: dict[tuple[str, str], Answer],
) -> None:
    download = answers["GET /hls/{path:path}", "staff"].response

    assert download.status_code == 200
    assert download.headers["cache-control"] == "private, max-age=3600"


async def test_a_host_runs_the_show_they_host_and_no_other(world: World) -> None:
    """The host is a member of the brand (MemberRole.HOST) listed among the show's hosts: the
    studio, pins, deals, chat moderation of that show; another show of the same brand, no."""
    host = world.browsers["host"]
    show, other = world.ids["show_id"], world.ids["unhosted_show_id"]
    studio = f"/studio/{show}"
    json = {"accept": "application/json"}

    async def act(path: str, form: dict[str, str]) -> int:
        token = host.cookies[CSRF_COOKIE]
        answer = await host.request("POST", path, data={**form, "_csrf_token": token}, headers=json)
        return answer.status_code

    pinned = await act(f"{studio}/pin", {"product_id": str(world.ids["lineup_product_id"])})
    deal = await act(
        f"{studio}/deals",
        {
            "product_id": str(
                world.ids["external_product_id"]
            ),  # one variant: the studio's form has no variant choice
            "deal_price": "25.00",
            "quantity": "1",
            "duration_s": "60",
            "per_shopper_limit": "1",
        },
    )
    slowed = await act(f"{studio}/slow-mode", {"seconds": "5"})
    announced = await act(f"{studio}/announce", {"text": "Ten minutes left!"})
    elsewhere = await host.get(f"/studio/{other}", follow_redirects=False)
    pin_elsewhere = await act(f"/studio/{other}/pin", {"product_id": "1"})

    assert (pinned, deal, slowed, announced) == (200, 200, 200, 200)
    assert (elsewhere.status_code, pin_elsewhere) == (404, 404)
