from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.notify.smtp_helpers import SmtpServer, running_smtp


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from running_smtp()
