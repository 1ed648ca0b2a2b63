"""The pin history of a show: which product was on the shop banner, from when until when. The
replay's product timeline is drawn from it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from vitrine.core.db import Base, UtcDateTime


class ShowPin(Base):
    """One pin: `unpinned_at` stays empty while the product is on the banner."""

    __tablename__ = "show_pins"
    __table_args__ = (Index("ix_show_pins_show_id_pinned_at", "show_id", "pinned_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    pinned_at: Mapped[datetime] = mapped_column(UtcDateTime)
    unpinned_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
