"""Logging: readable lines for a terminal, one JSON object per line for a log pipeline
(VITRINE_LOG_FORMAT=json). Stream keys and passwords are never passed to a logger."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, fmt: str) -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("websockets.server").setLevel(max(logging.WARNING, root.level))
    # The database layers log statements with their parameters (a new stream key, an e-mail)
    # below WARNING: they stay quiet even when Vitrine itself is asked for DEBUG.
    for chatty in ("aiosqlite", "asyncpg", "sqlalchemy"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
