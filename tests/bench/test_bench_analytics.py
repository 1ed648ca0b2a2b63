"""bench/analytics.py runs end to end at a small size and reports every figure (values are
judged by hand on full runs, never in tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "analytics.py"


@pytest.mark.smoke
def test_the_analytics_benchmark_reports_every_figure() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--smoke"], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["view_events"] == 20_000 and result["orders"] == 2_000
    assert isinstance(result["show_report_ms_sqlite"], int | float)
    assert isinstance(result["peer_show_report_ms_sqlite"], int | float)
    assert "show_report_ms_postgres" in result and "peer_show_report_ms_postgres" in result
    assert result["report_sqlite"]["views"] == 10_000
