"""What a request handler can reach: the services wired at start-up (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Request

from vitrine.config import Settings
from vitrine.core.broker import Broker
from vitrine.core.db import Database


@dataclass(slots=True)
class Services:
    settings: Settings
    db: Database
    broker: Broker
    extras: dict[str, Any] = field(default_factory=dict)  # optional parts (media, live) by name


def services_of(request: Request[Any, Any, Any]) -> Services:
    services: Services = request.app.state.services
    return services
