"""People and brands: users, their sessions, merchants, who works for which merchant, follows,
and the API tokens partners use."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vitrine.core.clock import utc_now
from vitrine.core.db import Base, UtcDateTime, str_enum


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_operator: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class UserSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's token is stored."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MerchantStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Merchant(Base):
    """A brand. It applies, the operator approves it; only approved merchants go live."""

    __tablename__ = "merchants"
    __table_args__ = (
        CheckConstraint("commission_bps >= 0 AND commission_bps <= 10000", name="commission_range"),
        CheckConstraint("tax_bps >= 0 AND tax_bps <= 10000", name="tax_range"),
        CheckConstraint("shipping_flat >= 0", name="shipping_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handle: Mapped[str] = mapped_column(String(30), unique=True)
    brand_name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    contact_email: Mapped[str] = mapped_column(String(254))
    logo_path: Mapped[str | None] = mapped_column(String(200), default=None)
    status: Mapped[MerchantStatus] = mapped_column(str_enum(MerchantStatus, "merchant_status"))
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    commission_bps: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    shipping_flat: Mapped[int] = mapped_column(Integer, default=0)
    tax_bps: Mapped[int] = mapped_column(Integer, default=0)
    blocked_words: Mapped[str] = mapped_column(Text, default="")
    embed_origins: Mapped[str] = mapped_column(Text, default="")
    applied_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    applied_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class MemberRole(enum.StrEnum):
    OWNER = "owner"
    STAFF = "staff"
    HOST = "host"  # an invited creator: hosts the merchant's shows, no catalog rights


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("merchant_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[MemberRole] = mapped_column(str_enum(MemberRole, "member_role"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class Follow(Base):
    __tablename__ = "follows"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class ApiToken(Base):
    """A partner's key to the REST API, scoped to one merchant. Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(60))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class LoginAttempt(Base):
    """Failed log-ins, counted per e-mail and per address to slow down password guessing."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, index=True)
