"""bench/fanout.py runs end to end and reports every figure (values are not judged here)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "fanout.py"


@pytest.mark.smoke
@pytest.mark.skipif(shutil.which("gcc") is None, reason="the load client needs gcc")
def test_the_fanout_benchmark_reports_every_figure() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--smoke"], capture_output=True, text=True, timeout=240
    )

    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    for key in (
        "viewers",
        "deliver_all_p99_ms",
        "us_per_frame",
        "events_per_s_batched",
        "kib_per_idle_connection",
        "asgi_us_per_frame",
        "broadcast_us_per_frame",
        "floor_us_per_frame",
    ):
        assert isinstance(result[key], int | float), key
    assert result["connected"] == result["viewers"]
    assert result["latency_deliveries_missed"] == 0
