""" "Remind me" on an upcoming show: shoppers toggle a reminder; the brand sees how many asked."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select

from vitrine.accounts.actor import Actor
from vitrine.core.db import Database
from vitrine.core.errors import Conflict, NotFound
from vitrine.shows.models import Show, ShowStatus
from vitrine.shows.reminder_models import ShowReminder


@dataclass(frozen=True, slots=True)
class ReminderState:
    """What the show page shows: may this person ask, did they, and (for the brand) how many."""

    show_id: int
    open: bool  # the show is still scheduled, so a reminder makes sense
    signed_in: bool
    reminded: bool
    count: int | None  # only for the brand's owner and staff


async def set_reminder(db: Database, actor: Actor, show_id: int, *, on: bool) -> bool:
    """Ask (or stop asking) to be told when the show starts; returns whether a reminder is set."""
    user_id = actor.require_signed_in()
    async with db.write() as tx:
        show = await tx.session.get(Show, show_id)
        if show is None:
            raise NotFound(f"No show #{show_id}")
        existing = await tx.session.get(ShowReminder, (show_id, user_id))
        if not on:
            if existing is not None:
                await tx.session.execute(
                    delete(ShowReminder).where(
                        ShowReminder.show_id == show_id, ShowReminder.user_id == user_id
                    )
                )
            return False
        if show.status is ShowStatus.CANCELLED:
            raise Conflict("This show was cancelled, so there is nothing to remind you of")
        if show.status is ShowStatus.LIVE:
            raise Conflict("This show is live now: open it to watch")
        if show.status is ShowStatus.ENDED:
            raise Conflict("This show has ended; watch the replay instead")
        if existing is None:
            tx.session.add(ShowReminder(show_id=show_id, user_id=user_id))
    return True


async def reminder_count(db: Database, show_id: int) -> int:
    async with db.read() as session:
        count = await session.scalar(
            select(func.count()).select_from(ShowReminder).where(ShowReminder.show_id == show_id)
        )
    return count or 0


async def reminder_state(db: Database, actor: Actor, show: Show) -> ReminderState:
    reminded = False
    if actor.user_id is not None:
        async with db.read() as session:
            reminded = await session.get(ShowReminder, (show.id, actor.user_id)) is not None
    return ReminderState(
        show_id=show.id,
        open=show.status is ShowStatus.SCHEDULED,
        signed_in=actor.user_id is not None,
        reminded=reminded,
        count=await reminder_count(db, show.id) if actor.manages(show.merchant_id) else None,
    )
