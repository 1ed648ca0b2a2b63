"""Everything a fresh screen of a show needs (the live edge's SnapshotSource)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from vitrine.chat import events_of
from vitrine.chat.service import badges_by_author, open_questions_of, recent_messages
from vitrine.core.db import Database
from vitrine.core.errors import NotFound
from vitrine.live import events
from vitrine.shows.models import Show, ShowStatus
from vitrine.shows.on_air import lineup_items, pinned_event

# Deals come from commerce, which builds on shows; it registers a provider instead of being
# imported here.
DealsOf = Callable[[int], Awaitable[list[events.DealStarted]]]


def show_state(show: Show) -> events.ShowState:
    state = show.status.value if show.status is not ShowStatus.CANCELLED else "ended"
    if show.status is ShowStatus.LIVE and not show.stream_online:
        state = "paused"
    return events.ShowState(
        show_id=str(show.id),
        state=state,  # type: ignore[arg-type]
        title=show.title,
        started_at=int(show.started_at.timestamp() * 1000) if show.started_at else None,
    )


@dataclass
class ShowSnapshots:
    db: Database
    deals_of: list[DealsOf] = field(default_factory=list)

    async def snapshot(self, show_id: str) -> events.ShowSnapshot:
        # Everything in one session: a read that opened a second one while holding the first
        # deadlocked the pool when a crowd of viewers arrived at once.
        async with self.db.read() as session:
            show = await session.get(Show, int(show_id)) if show_id.isdigit() else None
            if show is None:
                raise NotFound(f"No show #{show_id}")
            lineup = await lineup_items(session, show.id)
            recent = await recent_messages(session, show.id)
            badges = await badges_by_author(session, {row.user_id for row in recent}, show)
            chat = [events_of.chat_message(row, badges[row.user_id]) for row in recent]
            questions = await open_questions_of(session, show.id)
        pinned = next(
            (
                pinned_event(item, at=0)
                for item in lineup
                if show.pinned_product_id is not None
                and item.product_id == str(show.pinned_product_id)
            ),
            None,
        )
        deals: list[events.DealStarted] = []
        for provider in self.deals_of:
            deals.extend(await provider(show.id))
        return events.ShowSnapshot(
            show=show_state(show),
            lineup=lineup,
            pinned=pinned,
            deals=deals,
            chat=chat,
            open_questions=[str(question.id) for question in questions],
        )
