"""Reminders and notifications: who asked to be told when a show starts, what each person was
told (one record per show and person, so nothing is sent twice), and who opted out of e-mail."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vitrine.core.clock import utc_now
from vitrine.core.db import Base, UtcDateTime, str_enum


class ShowReminder(Base):
    """A shopper pressed "Remind me" on an upcoming show."""

    __tablename__ = "show_reminders"

    show_id: Mapped[int] = mapped_column(
        ForeignKey("shows.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class AnnouncementKind(enum.StrEnum):
    LIVE = "live"
    CANCELLED = "cancelled"


class ShowAnnouncement(Base):
    """A show's start (or cancellation) was announced: written once, so a stream that reconnects
    or a second instance never announces it again."""

    __tablename__ = "show_announcements"

    show_id: Mapped[int] = mapped_column(
        ForeignKey("shows.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[AnnouncementKind] = mapped_column(str_enum(AnnouncementKind, "announcement_kind"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class EmailState(enum.StrEnum):
    PENDING = "pending"  # to be sent
    SENDING = "sending"  # claimed by a sender; never retried after a restart (at most once)
    SENT = "sent"
    SKIPPED = "skipped"  # no SMTP server, or the person unsubscribed
    FAILED = "failed"


class Notification(Base):
    """What one person was told about one show, in the app and (maybe) by e-mail."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("show_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    kind: Mapped[AnnouncementKind] = mapped_column(str_enum(AnnouncementKind, "notification_kind"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    email_state: Mapped[EmailState] = mapped_column(str_enum(EmailState, "email_state"))
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_error: Mapped[str] = mapped_column(String(300), default="")
    emailed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class EmailOptOut(Base):
    """The person followed an unsubscribe link: no more e-mails (in-app notifications stay)."""

    __tablename__ = "email_opt_outs"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
