"""The page's client (static/js/live.js) against the real edge, run by Node: after its
connection drops it reconnects by itself, resumes from its last seq and misses nothing."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.live.conftest import Stage
from vitrine.live.events import ProductPinned

PROBE = Path(__file__).with_name("live_client_probe.mjs")
NODE = shutil.which("node")


def node_args() -> list[str]:
    assert NODE is not None
    version = subprocess.run([NODE, "--version"], capture_output=True, text=True).stdout
    major = int(version.strip().lstrip("v").split(".")[0])
    return [NODE, "--experimental-websocket"] if major < 22 else [NODE]


def pin(product_id: str) -> ProductPinned:
    return ProductPinned(
        product_id=product_id, title="Shirt", price_minor=100, currency="EUR", at=1
    )


@pytest.mark.skipif(NODE is None, reason="Node is not installed")
async def test_the_page_client_resumes_after_a_dropped_connection(stage: Stage) -> None:
    a = await stage.instance()
    probe = await asyncio.create_subprocess_exec(
        *node_args(), str(PROBE), a.url("s1"), "p3", stdout=subprocess.PIPE
    )
    assert probe.stdout is not None
    lines: list[dict[str, Any]] = []

    async def read_until(check: Any) -> None:
        while True:
            raw = await asyncio.wait_for(probe.stdout.readline(), 30)  # type: ignore[union-attr]
            assert raw, f"the client exited early after {lines}"
            lines.append(json.loads(raw))
            if check(lines[-1]):
                return

    try:
        await read_until(lambda line: line.get("type") == "snapshot")
        first = await a.channel.publish("s1", pin("p1"))
        await read_until(lambda line: line.get("product_id") == "p1")
        for connection in tuple(a.edge.rooms["s1"].live):
            connection.drop()  # the phone lost its network
        await a.channel.publish("s1", pin("p2"))
        await a.channel.publish("s1", pin("p3"))
        await read_until(lambda line: line.get("product_id") == "p3")
        assert await probe.wait() == 0
    finally:
        if probe.returncode is None:
            probe.kill()
            await probe.wait()

    pins = [
        (line["product_id"], line["seq"]) for line in lines if line.get("type") == "product_pinned"
    ]
    welcomes = [line["resumed"] for line in lines if line.get("type") == "welcome"]
    assert pins == [("p1", first), ("p2", first + 1), ("p3", first + 2)]
    assert welcomes == [False, True]
    assert {"status": "reconnecting"} in lines
    assert sum(1 for line in lines if line.get("type") == "snapshot") == 1
