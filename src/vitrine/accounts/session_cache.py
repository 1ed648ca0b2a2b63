"""Recently seen sessions, kept a few seconds in memory for the routes a burst hits: in a flash
deal every shopper taps within the same second, and looking the session up in the database on
every tap would cost more than deciding the tap. A log-out here forgets the session at once;
one on another instance is seen here within `ttl_s`."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from vitrine.accounts.actor import GUEST, Actor
from vitrine.accounts.users import actor_for_session
from vitrine.core.db import Database


class SessionCache:
    def __init__(
        self,
        db: Database,
        *,
        ttl_s: float = 10.0,
        size: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
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
        actor = await actor_for_session(self._db, token)
        if actor.user_id is None:  # unknown tokens are not kept: guessing fills nothing
            self._seen.pop(token, None)
            return actor
        self._seen[token] = (now + self._ttl, actor)
        self._seen.move_to_end(token)
        while len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return actor

    def forget(self, token: str) -> None:
        """After a log-out on this instance."""
        self._seen.pop(token, None)
