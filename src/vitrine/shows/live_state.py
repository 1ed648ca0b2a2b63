"""A show's life: scheduled → live → ended. The show goes live when the host's stream arrives
(or when the host presses Go live with the stream already flowing), survives a short drop of
the stream, and ends only when the host ends it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from vitrine.accounts.actor import Actor
from vitrine.accounts.merchants import require_approved
from vitrine.accounts.models import Merchant
from vitrine.core.clock import utc_now
from vitrine.core.db import Database, Tx
from vitrine.core.errors import Conflict, NotFound
from vitrine.shows.models import Show, ShowStatus
from vitrine.shows.schedule import is_host

# Called after commit with the show whose state changed; the app wires it to the live channel.
StateListener = Callable[[Show], Awaitable[None]]


@dataclass
class ShowLifecycle:
    db: Database
    on_change: StateListener | None = None

    async def _announce(self, tx: Tx, show: Show) -> None:
        if self.on_change is not None:
            listener = self.on_change
            tx.on_commit(lambda: listener(show))

    async def stream_arrived(self, show_id: int) -> Show:
        """The host's encoder is publishing: a scheduled show of an approved brand goes live,
        unless the host asked to check the preview first."""
        async with self.db.write() as tx:
            show = await _show(tx, show_id)
            show.stream_online = True
            show.stream_lost_at = None
            if show.status is ShowStatus.SCHEDULED and not show.preview_first:
                await _start(tx, show)
            await self._announce(tx, show)
        return show

    async def stream_lost(self, show_id: int) -> Show:
        """The encoder stopped: the show stays live (viewers see "reconnecting") until the
        host ends it or the stream comes back."""
        async with self.db.write() as tx:
            show = await _show(tx, show_id)
            if show.stream_online:
                show.stream_online = False
                show.stream_lost_at = utc_now()
                await self._announce(tx, show)
        return show

    async def go_live(self, actor: Actor, show_id: int) -> Show:
        """The host's Go live button: allowed once the stream is flowing."""
        async with self.db.write() as tx:
            show = await _show(tx, show_id)
            if not await is_host(tx.session, actor, show):
                raise NotFound(f"No show #{show_id}")
            if show.status is ShowStatus.LIVE:
                return show
            if show.status is not ShowStatus.SCHEDULED:
                raise Conflict(f"This show is {show.status}; it cannot go live again")
            if not show.stream_online:
                raise Conflict(
                    "No video is arriving yet: start streaming from OBS or your phone app with "
                    "this show's server and key, then press Go live"
                )
            await _start(tx, show)
            await self._announce(tx, show)
        return show

    async def end(self, actor: Actor, show_id: int) -> Show:
        async with self.db.write() as tx:
            show = await _show(tx, show_id)
            if not await is_host(tx.session, actor, show):
                raise NotFound(f"No show #{show_id}")
            if show.status is ShowStatus.ENDED:
                return show
            if show.status is not ShowStatus.LIVE:
                raise Conflict(f"This show is {show.status}; only a live show can be ended")
            show.status = ShowStatus.ENDED
            show.ended_at = utc_now()
            await self._announce(tx, show)
        return show


async def _start(tx: Tx, show: Show) -> None:
    """Scheduled → live: only for a brand the operator approved."""
    merchant = await tx.session.get(Merchant, show.merchant_id)
    assert merchant is not None
    require_approved(merchant)
    show.status = ShowStatus.LIVE
    show.started_at = utc_now()


async def _show(tx: Tx, show_id: int) -> Show:
    show = await tx.session.get(Show, show_id)
    if show is None:
        raise NotFound(f"No show #{show_id}")
    return show
