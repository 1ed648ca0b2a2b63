"""Structured logs: one JSON object per line, with the fields a log pipeline filters on."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from vitrine.logs import configure


@pytest.fixture(autouse=True)
def logging_as_it_was() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_json_line_carries_the_extra_fields_and_the_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure("INFO", "json")
    log = logging.getLogger("vitrine.live.channel")
    log.warning("holding %d events", 3, extra={"outbox_events": 3})
    try:
        raise ConnectionError("redis went away")
    except ConnectionError:
        log.exception("could not append")

    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert {k: v for k, v in first.items() if k != "time"} == {
        "level": "warning",
        "logger": "vitrine.live.channel",
        "message": "holding 3 events",
        "outbox_events": 3,
    }
    assert (second["level"], second["message"]) == ("error", "could not append")
    assert second["error"].endswith("ConnectionError: redis went away")
