"""Numbers no row can have: an id past what the database stores (PostgreSQL's integer stops
at 2³¹-1, SQLite's at 2⁶³-1) or a page a billion pages away. Every route answers them as it
answers an unknown id or a bad page number, never with a 500 from the database driver."""

from __future__ import annotations

from litestar import Litestar

from tests.security.asking import ASKED, Asked, ask, fill, routes_of
from tests.security.world import World

HUGE = {"2³¹": 2**31, "2⁶³": 2**63, "2⁹⁰": 2**90}


async def test_ids_and_pages_past_any_row_are_refused_clearly(
    world: World, shared_app: Litestar
) -> None:
    """Asked by the owner, who may open everything: only the numbers can go wrong."""
    server_errors = []
    for route in routes_of(shared_app):
        asked = ASKED.get(route.key, Asked())
        for label, number in HUGE.items():
            huge_ids = {name: str(number) for name in world.ids if name.endswith("_id")}
            paths = [fill(route, {**world.ids, **huge_ids}, asked)]  # ids past any row
            if route.method == "GET":  # real ids, a page past any page
                paths.append(fill(route, world.ids, asked) + f"?page={number}")
            for path in paths:
                response = await ask(world, "owner", route, path, form=asked.form, body=asked.body)
                if response.status_code >= 500:
                    server_errors.append(f"{route.method} {path} ({label})")

    assert server_errors == []


async def test_the_request_schemathesis_found_is_an_unknown_product(world: World) -> None:
    """Its stateful run archived product 1052639693838485933390823424: a 500 until then."""
    answer = await world.browsers["token"].request(
        "POST",
        "/api/v1/products/1052639693838485933390823424/archive",
        headers=world.headers("token"),
    )

    assert answer.status_code == 404
    assert answer.json()["detail"] == "No product #1052639693838485933390823424 here"
