"""Which real services this test run has: read once from the environment."""

import os
import shutil

POSTGRES_URL = os.environ.get("VITRINE_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("VITRINE_TEST_REDIS_URL", "")
CHROMIUM = os.environ.get("VITRINE_TEST_CHROMIUM", "") or shutil.which("chromium") or ""
