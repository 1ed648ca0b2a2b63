"""The live events the chat produces, built from its rows (the wire contract is live.events)."""

from __future__ import annotations

import secrets
from datetime import datetime

from vitrine.chat.models import ChatMessage as ChatRow
from vitrine.core.clock import utc_now
from vitrine.live import events


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def chat_message(row: ChatRow, badges: list[str]) -> events.ChatMessage:
    return events.ChatMessage(
        message_id=str(row.id),
        author_id=str(row.user_id),
        author_name=row.author_name,
        text=row.text,
        is_question=row.is_question,
        badges=badges,
        sent_at=_ms(row.sent_at),
    )


def question_marked(row: ChatRow) -> events.QuestionMarked:
    return events.QuestionMarked(message_id=str(row.id))


def question_answered(row: ChatRow) -> events.QuestionAnswered:
    return events.QuestionAnswered(message_id=str(row.id))


def message_removed(row: ChatRow) -> events.MessageRemoved:
    return events.MessageRemoved(message_id=str(row.id))


def user_timed_out(user_id: int, until: datetime) -> events.UserTimedOut:
    return events.UserTimedOut(user_id=str(user_id), until=_ms(until))


def user_banned(user_id: int) -> events.UserBanned:
    return events.UserBanned(user_id=str(user_id))


def slow_mode(seconds: int) -> events.Announcement:
    text = f"Slow mode is on: one message every {seconds} s" if seconds else "Slow mode is off"
    return events.Announcement(announcement_id=secrets.token_hex(6), text=text, at=_ms(utc_now()))
