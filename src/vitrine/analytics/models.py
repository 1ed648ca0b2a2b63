"""Analytics tables: the raw view log (append-only, written in batches) and the rollups the
reports read, kept up to date as events are recorded so a report reads a few hundred rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, SmallInteger, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from vitrine.core.db import Base, UtcDateTime

JOIN = 1
LEAVE = 2


def table_of(model: type[Base]) -> Table:
    """A model's Table, for bulk statements that bypass the ORM's unit of work."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class ViewEvent(Base):
    """One viewer joining (kind 1) or leaving (kind 2) a show's live channel. `watch_s` is the
    length of the session a leave ends. Kept for audits and re-computation; reports never
    read it."""

    __tablename__ = "analytics_view_events"
    __table_args__ = (Index("ix_analytics_view_events_show_at", "show_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    viewer_key: Mapped[str] = mapped_column(String(40))
    kind: Mapped[int] = mapped_column(SmallInteger)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    watch_s: Mapped[int] = mapped_column(Integer, default=0)


class ShowMinute(Base):
    """Per show per minute: joins, leaves, the highest concurrent audience seen, the watch time
    of the sessions that ended, the reactions tapped and the first-time viewers."""

    __tablename__ = "analytics_show_minutes"

    show_id: Mapped[int] = mapped_column(
        ForeignKey("shows.id", ondelete="CASCADE"), primary_key=True
    )
    minute: Mapped[int] = mapped_column(Integer, primary_key=True)  # Unix time // 60
    joins: Mapped[int] = mapped_column(Integer, default=0)
    leaves: Mapped[int] = mapped_column(Integer, default=0)
    peak: Mapped[int] = mapped_column(Integer, default=0)
    watch_s: Mapped[int] = mapped_column(BigInteger, default=0)
    reactions: Mapped[int] = mapped_column(Integer, default=0)
    # Viewers seen for the first time this minute: their sum is the show's unique viewers.
    new_viewers: Mapped[int] = mapped_column(Integer, default=0)


class ShowViewer(Base):
    """Each distinct viewer of a show once: a signed-in user ("u<id>") or a browser ("a<hash>").
    Only written (insert-or-ignore) to tell a first visit from a return; reports never count it,
    they sum `ShowMinute.new_viewers`."""

    __tablename__ = "analytics_show_viewers"

    show_id: Mapped[int] = mapped_column(
        ForeignKey("shows.id", ondelete="CASCADE"), primary_key=True
    )
    viewer_key: Mapped[str] = mapped_column(String(40), primary_key=True)


class ShowProductClicks(Base):
    """Times a product's card or shop banner was opened during a show."""

    __tablename__ = "analytics_product_clicks"

    show_id: Mapped[int] = mapped_column(
        ForeignKey("shows.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clicks: Mapped[int] = mapped_column(Integer, default=0)


class ShowSales(Base):
    """What a show's orders hold per product and order status, computed from commerce's order
    lines and kept until the show's orders change (see `SalesMark`)."""

    __tablename__ = "analytics_show_sales"

    show_id: Mapped[int] = mapped_column(
        ForeignKey("shows.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    lines: Mapped[int] = mapped_column(Integer, default=0)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    units: Mapped[int] = mapped_column(Integer, default=0)
    revenue: Mapped[int] = mapped_column(BigInteger, default=0)


class SalesMark(Base):
    """The fingerprint of a show's orders (count, total and ids per status) when its
    `ShowSales` rows were computed: a report whose fingerprint differs computes them again."""

    __tablename__ = "analytics_sales_marks"

    show_id: Mapped[int] = mapped_column(
        ForeignKey("shows.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64))
    built_at: Mapped[datetime] = mapped_column(UtcDateTime)
