"""Which real services this test run has: read once from the environment."""

import os
import shutil

POSTGRES_URL = os.environ.get("VITRINE_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("VITRINE_TEST_REDIS_URL", "")
CHROMIUM = os.environ.get("VITRINE_TEST_CHROMIUM", "") or shutil.which("chromium") or ""


def free_udp_base(count: int = 50) -> int:
    """The first of `count` consecutive UDP ports nobody is bound to (the SRT ingest)."""
    import random
    import socket

    for _ in range(100):
        base = random.randrange(20000, 60000 - count)
        try:
            for port in range(base, base + count):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free range of UDP ports for SRT")
