"""Chat of a show: messages (some marked as questions), moderators a brand appoints, and the
time-outs and bans that hold across all of a brand's shows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vitrine.core.clock import utc_now
from vitrine.core.db import Base, UtcDateTime


class ChatMessage(Base):
    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_show_id_id", "show_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    author_name: Mapped[str] = mapped_column(String(60))
    text: Mapped[str] = mapped_column(String(600))
    is_question: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    removed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class ChatModerator(Base):
    """A viewer the brand trusts to moderate its shows' chat."""

    __tablename__ = "chat_moderators"

    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    appointed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    appointed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class ChatSanction(Base):
    """A time-out (with `until`) or a ban (`until` empty) from all of a brand's chats."""

    __tablename__ = "chat_sanctions"

    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    reason: Mapped[str] = mapped_column(String(200), default="")
    by_user: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
