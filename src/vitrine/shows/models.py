"""Shows: scheduled, live, ended or cancelled; their hosts, product lineup and stream key."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vitrine.core.clock import utc_now
from vitrine.core.db import Base, UtcDateTime, str_enum


class ShowStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


class Show(Base):
    __tablename__ = "shows"
    __table_args__ = (CheckConstraint("expected_minutes > 0", name="duration_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    cover_path: Mapped[str | None] = mapped_column(String(200), default=None)
    scheduled_start: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    expected_minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[ShowStatus] = mapped_column(str_enum(ShowStatus, "show_status"), index=True)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    # What the host types into OBS: rtmp://…/live and `<public_name>?key=<stream_key>`.
    public_name: Mapped[str] = mapped_column(String(32), unique=True)
    stream_key: Mapped[str] = mapped_column(String(64))
    pinned_product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), default=None
    )
    # The host's encoder: online while frames arrive; a short drop keeps the show live.
    # With a preview first, the stream arriving only lights the studio's preview; the host then
    # presses Go live. Without, the show goes live the moment the stream arrives.
    preview_first: Mapped[bool] = mapped_column(Boolean, default=False)
    stream_online: Mapped[bool] = mapped_column(Boolean, default=False)
    stream_lost_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    slow_mode_s: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class ShowHost(Base):
    __tablename__ = "show_hosts"

    show_id: Mapped[int] = mapped_column(
        ForeignKey("shows.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class LineupItem(Base):
    """A product of the show, in the order the host will present it."""

    __tablename__ = "show_lineup"
    __table_args__ = (UniqueConstraint("show_id", "product_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)


class SimulcastDestination(Base):
    """Another place the show's stream is copied to: the brand's other social accounts."""

    __tablename__ = "show_simulcast"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    url: Mapped[str] = mapped_column(String(500))  # rtmp(s)://host/app/key: a secret, never logged
