"""Recently seen sessions, kept a few seconds in memory for the routes a burst hits: in a flash
deal every shopper taps within the same second, and looking the session up in the database on
every tap would cost more than deciding the tap. A log-out here forgets the session at once;
one on another instance is seen here within `ttl_s`."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from vitrine.accounts.actor import GUEST, Actor
from vitrine.accounts.models import MemberRole
from vitrine.accounts.tokens import digest
from vitrine.core.clock import as_utc, utc_now
from vitrine.core.db import Database, QuickReader

# What `users.actor_for_session` asks, in plain SQL for `QuickReader`.
_SESSION_SQL = (
    "SELECT u.id, u.display_name, u.is_operator, s.expires_at, m.merchant_id, m.role"
    " FROM user_sessions s JOIN users u ON u.id = s.user_id"
    " LEFT JOIN memberships m ON m.user_id = u.id"
    " WHERE s.token_hash = $1"
)


def _utc(value: datetime | str) -> datetime:
    """A timestamp as the driver gives it: aware (asyncpg), or SQLite's stored text."""
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


class SessionCache:
    def __init__(
        self,
        db: Database,
        *,
        ttl_s: float = 10.0,
        size: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = QuickReader(db)
        self._ttl = ttl_s
        self._size = size
        self._clock = clock
        self._seen: OrderedDict[str, tuple[float, Actor]] = OrderedDict()

    async def actor(self, token: str | None) -> Actor:
        """The person behind a session cookie (a guest when unknown), at most `ttl_s` old."""
        if not token:
            return GUEST
        now = self._clock()
        seen = self._seen.get(token)
        if seen is not None and seen[0] > now:
            return seen[1]
        actor = await self._look_up(token)
        if actor.user_id is None:  # unknown tokens are not kept: guessing fills nothing
            self._seen.pop(token, None)
            return actor
        self._seen[token] = (now + self._ttl, actor)
        self._seen.move_to_end(token)
        while len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return actor

    async def _look_up(self, token: str) -> Actor:
        """`actor_for_session`, as one query on a connection of its own (a miss costs tens of
        microseconds instead of a pooled session's round trips)."""
        rows = await self._reader.fetch(_SESSION_SQL, digest(token))
        if not rows or _utc(rows[0][3]) <= utc_now():
            return GUEST
        user_id, name, operator = rows[0][:3]
        return Actor(
            user_id=int(user_id),
            display_name=str(name),
            is_operator=bool(operator),
            memberships={
                int(merchant): MemberRole(role)
                for *_, merchant, role in rows
                if merchant is not None
            },
        )

    def forget(self, token: str) -> None:
        """After a log-out on this instance."""
        self._seen.pop(token, None)
