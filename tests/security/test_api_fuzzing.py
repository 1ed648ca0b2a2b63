"""schemathesis reads /api/v1/openapi.json of a running `vitrine serve` and throws generated
requests at every operation (documented examples, boundary values, random fuzzing, and
stateful sequences that follow the links it infers, e.g. create a product then change it),
with a brand's API token and with none. No answer may be a 5xx.

Bounded: a few examples per operation and phase, about half a minute a run. The seed is
random, so each CI run explores a little more; a failure prints the seed and a curl line."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.browser.conftest import LiveServer, start_server, stop_server
from vitrine.accounts import api_tokens
from vitrine.accounts.models import User
from vitrine.accounts.users import actor_for_user
from vitrine.core.db import Database
from vitrine.demo import MERCHANT

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """The demo brand on a real server, and an API token of its own."""
    server = start_server(tmp_path_factory.mktemp("api"))
    server.vitrine("demo")
    yield server, asyncio.run(_issue_token(server))
    stop_server(server)


async def _issue_token(server: LiveServer) -> str:
    db = Database(f"sqlite:///{server.data_dir / 'vitrine.db'}")
    try:
        async with db.read() as session:
            owner = await session.scalar(select(User).where(User.email == MERCHANT[1]))
            assert owner is not None
            actor = await actor_for_user(session, owner)
        issued = await api_tokens.issue_token(db, actor, 1, "schemathesis")
    finally:
        await db.dispose()
    return issued.secret


@pytest.mark.parametrize("who", ["with the brand's token", "with no token"])
def test_no_generated_request_gets_a_server_error(
    api_server: tuple[LiveServer, str], who: str
) -> None:
    server, token = api_server
    auth = ["-H", f"Authorization: Bearer {token}"] if who == "with the brand's token" else []

    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{server.url}/api/v1/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "10",
            "--request-timeout",
            "10",
            "--generation-database",
            "none",
            "--no-color",
            *auth,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=server.data_dir,  # its cache of crashes, not in the work tree
    )
    counted = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    server_errors = [line for line in server.log.read_text().splitlines() if "Traceback" in line]

    assert run.returncode == 0, run.stdout[-6000:]
    assert counted is not None and int(counted[1]) == int(counted[2]) > 300, run.stdout[-2000:]
    assert re.search(r"Tested: (\d+)/\1\b|Selected: (\d+)/\2\b", run.stdout)  # every operation
    assert server_errors == []
