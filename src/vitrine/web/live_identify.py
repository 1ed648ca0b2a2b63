"""Who opens a live channel: the session cookie says who, the show says in which role."""

from __future__ import annotations

from dataclasses import dataclass

from vitrine.accounts.users import actor_for_session
from vitrine.chat.service import can_moderate
from vitrine.core.db import Database
from vitrine.core.errors import NotFound
from vitrine.live.events import Viewer
from vitrine.live.protocols import LiveRequest
from vitrine.shows.models import Show
from vitrine.shows.schedule import is_host
from vitrine.web.auth import SESSION_COOKIE


@dataclass
class SessionIdentify:
    db: Database

    async def identify(self, request: LiveRequest) -> Viewer:
        actor = await actor_for_session(self.db, request.cookies.get(SESSION_COOKIE))
        async with self.db.read() as session:
            show = (
                await session.get(Show, int(request.show_id)) if request.show_id.isdigit() else None
            )
            if show is None:
                raise NotFound(f"No show #{request.show_id}")
            roles: set[str] = set()
            if actor.user_id is not None:
                if await is_host(session, actor, show):
                    roles.add("host")
                if await can_moderate(session, actor.user_id, show):
                    roles.add("moderator")
        return Viewer(
            user_id=str(actor.user_id) if actor.user_id is not None else None,
            display_name=actor.display_name or "Guest",
            roles=frozenset(roles),
        )
