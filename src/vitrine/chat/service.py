"""Posting to a show's chat, marking questions, and moderating: the chat side of the live
channel. Every check happens before the write; every event goes out after the commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vitrine.accounts.actor import Actor
from vitrine.accounts.models import Membership, Merchant, User
from vitrine.chat import events_of
from vitrine.chat.models import ChatMessage, ChatModerator, ChatSanction
from vitrine.chat.text import MAX_LENGTH, blocked_words, clean_message, first_blocked
from vitrine.core.clock import utc_now
from vitrine.core.db import Database, Tx
from vitrine.core.errors import NotAllowed, NotFound, NotSignedIn, ValidationFailed
from vitrine.core.ratelimit import RateLimiter, seconds_text
from vitrine.live.events import ShowEvent, Viewer
from vitrine.live.protocols import ActionRefused
from vitrine.shows.models import Show, ShowHost, ShowStatus

# A person may post this many messages per window, moderators included (a flood guard).
BURST = 5
BURST_WINDOW_S = 10.0
MAX_SLOW_MODE_S = 300
MAX_TIMEOUT_MINUTES = 24 * 60


class Publisher(Protocol):
    async def publish(self, show_id: str, event: ShowEvent) -> int: ...


@dataclass
class ChatService:
    db: Database
    channel: Publisher
    limiter: RateLimiter

    # -- what viewers do (the live edge's ActionHandler) -----------------------------------

    async def post_chat(self, show_id: str, viewer: Viewer, text: str) -> None:
        user_id = _user_id(viewer)
        body = clean_message(text)
        if not body:
            raise ActionRefused("bad_frame", "Type a message first")
        if len(body) > MAX_LENGTH:
            raise ActionRefused("too_long", f"Keep messages under {MAX_LENGTH} characters")
        async with self.db.read() as session:
            show, merchant = await _live_show(session, show_id)
            moderator = await can_moderate(session, user_id, show)
            if not moderator:
                await _check_not_sanctioned(session, merchant.id, user_id)
        word = first_blocked(body, blocked_words(merchant.blocked_words))
        if word is not None:
            raise ActionRefused("blocked_word", f"“{word}” is not allowed in this chat")
        wait = await self.limiter.hit(f"chat:{user_id}", limit=BURST, window_s=BURST_WINDOW_S)
        if wait:
            raise ActionRefused(
                "rate_limited",
                f"You are posting too fast; you can post again in {seconds_text(wait)}",
                retry_after_s=wait,
            )
        if show.slow_mode_s and not moderator:
            wait = await self.limiter.hit(
                f"slow:{show.id}:{user_id}", limit=1, window_s=float(show.slow_mode_s)
            )
            if wait:
                raise ActionRefused(
                    "slow_mode",
                    f"Slow mode is on; you can post again in {seconds_text(wait)}",
                    retry_after_s=wait,
                )
        async with self.db.write() as tx:
            message = ChatMessage(
                show_id=show.id, user_id=user_id, author_name=viewer.display_name, text=body
            )
            tx.session.add(message)
            await tx.session.flush()
            badges = await badges_of(tx.session, user_id, show)
            self._after(tx, show.id, events_of.chat_message(message, badges))

    async def mark_question(self, show_id: str, viewer: Viewer, message_id: str) -> None:
        user_id = _user_id(viewer)
        async with self.db.write() as tx:
            show, _merchant = await _live_show(tx.session, show_id)
            message = await _message(tx.session, show.id, message_id)
            if message.user_id != user_id and not await can_moderate(tx.session, user_id, show):
                raise ActionRefused("not_allowed", "Only the author or a moderator can do this")
            if not message.is_question:
                message.is_question = True
                self._after(tx, show.id, events_of.question_marked(message))

    # -- what hosts and moderators do (from the studio) ------------------------------------

    async def answer_question(self, actor: Actor, show_id: int, message_id: int) -> None:
        async with self.db.write() as tx:
            show = await self._moderated_show(tx.session, actor, show_id)
            message = await _message(tx.session, show.id, str(message_id))
            if not message.is_question:
                raise ValidationFailed({"message": "This message is not a question"})
            if message.answered_at is None:
                message.answered_at = utc_now()
                self._after(tx, show.id, events_of.question_answered(message))

    async def remove_message(self, actor: Actor, show_id: int, message_id: int) -> None:
        async with self.db.write() as tx:
            show = await self._moderated_show(tx.session, actor, show_id)
            message = await _message(tx.session, show.id, str(message_id))
            if message.removed_at is None:
                message.removed_at = utc_now()
                message.removed_by = actor.user_id
                self._after(tx, show.id, events_of.message_removed(message))

    async def time_out(
        self, actor: Actor, show_id: int, user_id: int, *, minutes: int, reason: str = ""
    ) -> datetime:
        if not 1 <= minutes <= MAX_TIMEOUT_MINUTES:
            raise ValidationFailed(
                {"minutes": f"Choose between 1 and {MAX_TIMEOUT_MINUTES} minutes"}
            )
        until = utc_now() + timedelta(minutes=minutes)
        async with self.db.write() as tx:
            show = await self._moderated_show(tx.session, actor, show_id)
            await self._sanction(tx, actor, show, user_id, until=until, reason=reason)
            self._after(tx, show.id, events_of.user_timed_out(user_id, until))
        return until

    async def ban(self, actor: Actor, show_id: int, user_id: int, *, reason: str = "") -> None:
        """Banned from the chat of every show of this brand, until unbanned."""
        async with self.db.write() as tx:
            show = await self._moderated_show(tx.session, actor, show_id)
            await self._sanction(tx, actor, show, user_id, until=None, reason=reason)
            self._after(tx, show.id, events_of.user_banned(user_id))

    async def lift_sanction(self, actor: Actor, merchant_id: int, user_id: int) -> None:
        actor.require_manager(merchant_id)
        async with self.db.write() as tx:
            sanction = await tx.session.get(ChatSanction, (merchant_id, user_id))
            if sanction is not None:
                await tx.session.delete(sanction)

    async def set_slow_mode(self, actor: Actor, show_id: int, seconds: int) -> None:
        if not 0 <= seconds <= MAX_SLOW_MODE_S:
            raise ValidationFailed({"seconds": f"Choose between 0 (off) and {MAX_SLOW_MODE_S} s"})
        async with self.db.write() as tx:
            show = await self._moderated_show(tx.session, actor, show_id)
            show.slow_mode_s = seconds
            self._after(tx, show.id, events_of.slow_mode(seconds))

    async def appoint_moderator(self, actor: Actor, merchant_id: int, email: str) -> None:
        actor.require_manager(merchant_id)
        appointer = actor.require_signed_in()
        async with self.db.write() as tx:
            user = await tx.session.scalar(select(User).where(User.email == email.strip().lower()))
            if user is None:
                raise ValidationFailed({"email": "No Vitrine account uses this e-mail"})
            if await tx.session.get(ChatModerator, (merchant_id, user.id)) is None:
                tx.session.add(
                    ChatModerator(merchant_id=merchant_id, user_id=user.id, appointed_by=appointer)
                )

    async def set_blocked_words(self, actor: Actor, merchant_id: int, words: str) -> None:
        actor.require_manager(merchant_id)
        cleaned = "\n".join(blocked_words(words))
        if len(cleaned) > 5000:
            raise ValidationFailed({"blocked_words": "Keep the list under 5,000 characters"})
        async with self.db.write() as tx:
            merchant = await tx.session.get(Merchant, merchant_id)
            if merchant is None:
                raise NotFound(f"No merchant #{merchant_id}")
            merchant.blocked_words = cleaned

    # -- reading --------------------------------------------------------------------------

    async def recent(self, show_id: int, *, limit: int = 50) -> list[ChatMessage]:
        """The latest messages still shown, oldest first (a fresh screen's chat)."""
        async with self.db.read() as session:
            return await recent_messages(session, show_id, limit=limit)

    async def open_questions(self, show_id: int) -> list[ChatMessage]:
        """The host's question queue, oldest first."""
        async with self.db.read() as session:
            return await open_questions_of(session, show_id)

    # -- helpers --------------------------------------------------------------------------

    def _after(self, tx: Tx, show_id: int, event: ShowEvent) -> None:
        channel = self.channel

        async def publish() -> None:
            await channel.publish(str(show_id), event)

        tx.on_commit(publish)

    async def _moderated_show(self, session: AsyncSession, actor: Actor, show_id: int) -> Show:
        user_id = actor.require_signed_in()
        show = await session.get(Show, show_id)
        if show is None:
            raise NotFound(f"No show #{show_id}")
        if not await can_moderate(session, user_id, show):
            raise NotAllowed("Only the show's hosts and moderators can do this")
        return show

    async def _sanction(
        self, tx: Tx, actor: Actor, show: Show, user_id: int, *, until: datetime | None, reason: str
    ) -> None:
        if await can_moderate(tx.session, user_id, show):
            raise NotAllowed("Hosts and moderators cannot be timed out or banned")
        if await tx.session.get(User, user_id) is None:
            raise NotFound(f"No user #{user_id}")
        existing = await tx.session.get(ChatSanction, (show.merchant_id, user_id))
        if existing is None:
            existing = ChatSanction(merchant_id=show.merchant_id, user_id=user_id, by_user=0)
            tx.session.add(existing)
        existing.until = until
        existing.reason = reason.strip()[:200]
        existing.by_user = actor.require_signed_in()
        existing.at = utc_now()


def _user_id(viewer: Viewer) -> int:
    if viewer.user_id is None:
        raise NotSignedIn("Sign in to chat")
    return int(viewer.user_id)


async def _live_show(session: AsyncSession, show_id: str) -> tuple[Show, Merchant]:
    show = await session.get(Show, int(show_id)) if show_id.isdigit() else None
    if show is None:
        raise NotFound(f"No show #{show_id}")
    if show.status is not ShowStatus.LIVE:
        raise ActionRefused(
            "not_live", f"This show is {show.status}; the chat opens when it is live"
        )
    merchant = await session.get(Merchant, show.merchant_id)
    assert merchant is not None
    return show, merchant


async def _message(session: AsyncSession, show_id: int, message_id: str) -> ChatMessage:
    message = await session.get(ChatMessage, int(message_id)) if message_id.isdigit() else None
    if message is None or message.show_id != show_id:
        raise NotFound("No such message in this show")
    return message


async def _check_not_sanctioned(session: AsyncSession, merchant_id: int, user_id: int) -> None:
    sanction = await session.get(ChatSanction, (merchant_id, user_id))
    if sanction is None:
        return
    if sanction.until is None:
        raise ActionRefused("banned", "You were banned from this brand's chats")
    left = (sanction.until - utc_now()).total_seconds()
    if left > 0:
        raise ActionRefused(
            "timed_out",
            f"You were timed out; you can post again in {seconds_text(left)}",
            retry_after_s=left,
        )


async def can_moderate(session: AsyncSession, user_id: int, show: Show) -> bool:
    """The show's hosts, the brand's owner and staff, and the viewers the brand appointed."""
    if await session.get(ShowHost, (show.id, user_id)) is not None:
        return True
    if await session.get(ChatModerator, (show.merchant_id, user_id)) is not None:
        return True
    membership = await session.scalar(
        select(Membership.role).where(
            Membership.merchant_id == show.merchant_id, Membership.user_id == user_id
        )
    )
    return membership is not None


async def recent_messages(
    session: AsyncSession, show_id: int, *, limit: int = 50
) -> list[ChatMessage]:
    """The latest messages still shown, oldest first, read in the caller's session."""
    rows = (
        await session.scalars(
            select(ChatMessage)
            .where(ChatMessage.show_id == show_id, ChatMessage.removed_at.is_(None))
            .order_by(ChatMessage.id.desc())
            .limit(limit)
        )
    ).all()
    return list(reversed(rows))


async def open_questions_of(session: AsyncSession, show_id: int) -> list[ChatMessage]:
    """Questions not answered nor removed, oldest first, read in the caller's session."""
    return list(
        (
            await session.scalars(
                select(ChatMessage)
                .where(
                    ChatMessage.show_id == show_id,
                    ChatMessage.is_question.is_(True),
                    ChatMessage.answered_at.is_(None),
                    ChatMessage.removed_at.is_(None),
                )
                .order_by(ChatMessage.id)
            )
        ).all()
    )


async def badges_of(session: AsyncSession, user_id: int, show: Show) -> list[str]:
    return (await badges_by_author(session, {user_id}, show))[user_id]


async def badges_by_author(
    session: AsyncSession, user_ids: set[int], show: Show
) -> dict[int, list[str]]:
    """The badge each author's messages carry in this show: "host", else "moderator" (as
    `can_moderate` decides), else none; three queries whatever the number of authors."""
    hosts = set(
        await session.scalars(
            select(ShowHost.user_id).where(
                ShowHost.show_id == show.id, ShowHost.user_id.in_(user_ids)
            )
        )
    )
    appointed = await session.scalars(
        select(ChatModerator.user_id).where(
            ChatModerator.merchant_id == show.merchant_id, ChatModerator.user_id.in_(user_ids)
        )
    )
    staff = await session.scalars(
        select(Membership.user_id).where(
            Membership.merchant_id == show.merchant_id, Membership.user_id.in_(user_ids)
        )
    )
    moderators = {*appointed, *staff}
    return {
        user_id: ["host"] if user_id in hosts else ["moderator"] if user_id in moderators else []
        for user_id in user_ids
    }
