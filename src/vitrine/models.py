"""Imports every domain's tables so `Base.metadata` is complete (for Alembic and test schemas)."""

from vitrine.accounts import models as accounts
from vitrine.catalog import models as catalog
from vitrine.core.db import Base
from vitrine.shows import models as shows

__all__ = ["Base", "accounts", "catalog", "shows"]
