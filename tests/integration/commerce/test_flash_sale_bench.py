import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[3] / "bench" / "flash_sale.py"


@pytest.mark.smoke
def test_the_flash_sale_benchmark_runs_and_oversells_nothing() -> None:
    finished = subprocess.run(
        [sys.executable, str(BENCH), "--smoke"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    results = json.loads(finished.stdout)
    assert results[0]["database"] == "sqlite"
    for result in results:
        assert (result["oversold"], result["duplicate_orders"], result["orders"]) == (
            0,
            0,
            result["units"],
        )
        assert result["peer_oversold"] == 0
        assert result["winners_p99_ms"] is not None and result["last_answer_s"] > 0
        # the HTTP case: a real web process, wrk tapping as signed-in shoppers
        assert (result["http_oversold"], result["peer_http_oversold"]) == (0, 0)
        assert result["http_attempts_per_s"] > 0 and result["peer_http_attempts_per_s"] > 0
        assert result["http_socket_errors"] == 0
        # won, sold out, or (200 shoppers tapping for a second) told to slow down
        assert set(result["http_statuses"]) <= {"201", "409", "429"}, result["http_statuses"]
