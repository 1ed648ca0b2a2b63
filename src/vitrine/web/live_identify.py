"""Who opens a live channel: the session cookie says who, the show says in which role.

A page of another site can open a WebSocket to us, and the browser may attach our cookies
to it (SameSite=Lax keeps them off in today's browsers, but not for a sibling subdomain or an
older browser). The browser names the page's site in `Origin`: when it is not the host the
channel was opened on, the cookie is ignored and the connection watches as a guest, so such a
page can never chat, ask or moderate as the person (cross-site WebSocket hijacking)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

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
        cookie = request.cookies.get(SESSION_COOKIE)
        if opened_by_another_site(request.headers):
            cookie = None
        actor = await actor_for_session(self.db, cookie)
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


def opened_by_another_site(headers: Mapping[str, str]) -> bool:
    """Whether a browser says a page of another host opened this channel. Hosts are compared
    without ports, as cookies are; no Origin (an app, a script) carries no browser's cookie."""
    origin = headers.get("origin")
    if not origin:
        return False
    page = urlsplit(origin).hostname
    return page is None or page != urlsplit(f"//{headers.get('host', '')}").hostname
