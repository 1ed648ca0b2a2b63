"""Imports every domain's tables so `Base.metadata` is complete (for Alembic and test schemas)."""

from vitrine.accounts import models as accounts
from vitrine.analytics import models as analytics
from vitrine.catalog import models as catalog
from vitrine.chat import models as chat
from vitrine.commerce import models as commerce
from vitrine.core.db import Base
from vitrine.shows import models as shows
from vitrine.shows import pin_models as pins
from vitrine.shows import reminder_models as reminders

__all__ = [
    "Base",
    "accounts",
    "analytics",
    "catalog",
    "chat",
    "commerce",
    "pins",
    "reminders",
    "shows",
]
