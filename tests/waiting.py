"""Waiting for something that happens in the background, with a ceiling and no timing
assertion."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def wait_until(
    predicate: Callable[[], bool], timeout_s: float = 20, step_s: float = 0.1
) -> None:
    """Bounded wait for a condition (no timing assertion: only a ceiling)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(step_s)
