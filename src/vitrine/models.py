"""Imports every domain's tables so `Base.metadata` is complete (for Alembic and test schemas)."""

from vitrine.accounts import models as accounts
from vitrine.catalog import models as catalog
from vitrine.chat import models as chat
from vitrine.commerce import models as commerce
from vitrine.core.db import Base
from vitrine.shows import models as shows

__all__ = ["Base", "accounts", "catalog", "chat", "commerce", "shows"]
