"""bench/soak.py at a small size (200 viewers, 5 chat messages a second, three 10-unit deals
tapped by 30 shoppers, 10 s of warm-up and 30 s measured), on SQLite with the in-process
broker, and on PostgreSQL (with Redis when given) as in production. The outcomes are exact;
the timings are not judged here."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.backends import POSTGRES_URL, REDIS_URL

BENCH = Path(__file__).resolve().parents[2] / "bench" / "soak.py"

STORES = [
    pytest.param([], id="sqlite"),
    pytest.param(
        ["--postgres", POSTGRES_URL] + (["--redis", REDIS_URL] if REDIS_URL else []),
        id="postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason="VITRINE_TEST_POSTGRES_URL is not set"),
        ],
    ),
]


def soak(*args: str) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--smoke", *args], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.smoke
@pytest.mark.skipif(shutil.which("gcc") is None, reason="the viewers are a C program (gcc)")
@pytest.mark.parametrize("stores", STORES)
def test_a_short_soak_loses_nothing_oversells_nothing_and_keeps_memory_flat(
    stores: list[str],
) -> None:
    result = soak(*stores)

    assert result["errors"] == [] and result["server_log_errors"] == 0
    # Every viewer stayed, saw every numbered event once and in order, up to the last.
    assert result["viewers_connected"] == result["viewers"] == 200
    assert result["viewers_dropped"] == 0
    assert result["viewers_stopped"] == 200
    assert result["sequence_gaps"] == 0
    # Every message was accepted and reached every viewer.
    assert result["chat_sent"] > 0 and result["chat_refused"] == {}
    assert result["chat_acked"] == result["chat_sent"]
    assert result["messages_delivered"] == result["messages_expected"]
    assert result["messages_per_viewer_min"] == result["chat_acked"]
    assert result["messages_per_viewer_max"] == result["chat_acked"]
    # Three deals, seen by everyone; each sold exactly its units, all paid, none oversold.
    assert result["deals_seen_per_viewer_min"] == 3
    assert [
        (d["units"], d["won"], d["sold_out"], d["paid"], d["sold"]) for d in result["deal_results"]
    ] == [(10, 10, 20, 10, 10)] * 3
    assert result["deals_oversold"] == 0
    assert result["memory_flat"] is True
