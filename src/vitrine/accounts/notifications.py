"""A person's notifications: the in-app list and unread count, and e-mail opt-out through a
signed unsubscribe link (HMAC with the instance's secret key)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import func, select, update

from vitrine.accounts.actor import Actor
from vitrine.accounts.models import User
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.core.errors import VitrineError
from vitrine.shows.reminder_models import EmailOptOut, Notification

PAGE_SIZE = 20


class BadUnsubscribeLink(VitrineError):
    status = 400
    title = "This unsubscribe link does not work"


def unsubscribe_token(secret: str, user_id: int) -> str:
    """`<user id>.<signature>`: only this instance can make one, and any change breaks it."""
    return f"{user_id}.{_signature(secret, user_id)}"


def _signature(secret: str, user_id: int) -> str:
    digest = hmac.new(secret.encode(), f"unsubscribe:{user_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def user_of_token(secret: str, token: str) -> int:
    """The user the link was made for; a tampered or truncated link is refused."""
    user_part, _, signature = token.partition(".")
    if user_part.isdigit() and len(user_part) < 12:
        user_id = int(user_part)
        if hmac.compare_digest(signature.encode(), _signature(secret, user_id).encode()):
            return user_id
    raise BadUnsubscribeLink(
        "The link is damaged or incomplete, so nobody was unsubscribed. Copy the whole link from "
        "the e-mail, or sign in and open Notifications to change your e-mail settings."
    )


async def unsubscribe(db: Database, user_id: int) -> None:
    """No more e-mails for this person; in-app notifications continue."""
    async with db.write() as tx:
        if await tx.session.get(User, user_id) is None:
            raise BadUnsubscribeLink("This link belongs to an account that no longer exists")
        if await tx.session.get(EmailOptOut, user_id) is None:
            tx.session.add(EmailOptOut(user_id=user_id))


async def resubscribe(db: Database, actor: Actor) -> None:
    user_id = actor.require_signed_in()
    async with db.write() as tx:
        existing = await tx.session.get(EmailOptOut, user_id)
        if existing is not None:
            await tx.session.delete(existing)


async def wants_email(db: Database, user_id: int) -> bool:
    async with db.read() as session:
        return await session.get(EmailOptOut, user_id) is None


@dataclass(frozen=True, slots=True)
class NotificationPage:
    items: list[Notification]
    page: int
    has_more: bool
    unread: int
    emails_on: bool


async def unread_count(db: Database, actor: Actor) -> int:
    if actor.user_id is None:
        return 0
    async with db.read() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
        )
    return count or 0


async def notifications_of(db: Database, actor: Actor, *, page: int = 1) -> NotificationPage:
    """Newest first, PAGE_SIZE at a time."""
    user_id = actor.require_signed_in()
    page = max(page, 1)
    async with db.read() as session:
        rows = list(
            (
                await session.scalars(
                    select(Notification)
                    .where(Notification.user_id == user_id)
                    .order_by(Notification.created_at.desc(), Notification.id.desc())
                    .offset((page - 1) * PAGE_SIZE)
                    .limit(PAGE_SIZE + 1)
                )
            ).all()
        )
    return NotificationPage(
        items=rows[:PAGE_SIZE],
        page=page,
        has_more=len(rows) > PAGE_SIZE,
        unread=await unread_count(db, actor),
        emails_on=await wants_email(db, user_id),
    )


async def mark_all_read(db: Database, actor: Actor) -> None:
    user_id = actor.require_signed_in()
    async with db.write() as tx:
        await tx.session.execute(
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=utc_now())
        )
