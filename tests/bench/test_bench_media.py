"""bench/media.py runs end to end at a small size and reports every figure (values are judged
by hand on full runs, never in tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "media.py"


@pytest.mark.smoke
@pytest.mark.media
def test_the_media_benchmark_reports_every_figure() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--smoke"], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    for key in ("cpu_pct_per_copy_stream", "first_segment_s", "dropped_frames_pct"):
        assert isinstance(result[key], int | float), key
    assert "glass_to_glass_s" in result
