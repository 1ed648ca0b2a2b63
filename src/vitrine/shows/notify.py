"""Telling shoppers a show started (or was cancelled): an in-app notification and an e-mail.

Announcing writes one ShowAnnouncement per show (so a reconnecting stream never announces
twice) and one Notification per (show, person) in the same transaction. E-mails go out after
commit in a background task; each is claimed before it is sent, so a restart or a second
instance never sends one twice (at most once: an interrupted send is marked failed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from vitrine.accounts.models import Follow, Merchant, User
from vitrine.core.clock import utc_now
from vitrine.core.db import Database, Tx
from vitrine.core.mail import MailNotSent, SmtpMailer
from vitrine.shows.models import Show, ShowStatus
from vitrine.shows.notify_mail import MailComposer
from vitrine.shows.reminder_models import (
    AnnouncementKind,
    EmailOptOut,
    EmailState,
    Notification,
    ShowAnnouncement,
    ShowReminder,
)

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3


@dataclass
class Notifier:
    db: Database
    mailer: SmtpMailer
    composer: MailComposer
    sweep_s: float = 15.0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _sweeper: asyncio.Task[None] | None = None

    # -- wiring ---------------------------------------------------------------------------

    async def show_changed(self, show: Show) -> None:
        """The lifecycle's after-commit listener: returns at once, the work runs in the back."""
        if show.status is ShowStatus.LIVE:
            self._spawn(self.announce(show.id, AnnouncementKind.LIVE))
        elif show.status is ShowStatus.CANCELLED:
            self._spawn(self.announce(show.id, AnnouncementKind.CANCELLED))

    async def start(self) -> None:
        """Mark sends cut off by a restart as failed, then sweep now and every `sweep_s`."""
        await self.recover()
        if self.sweep_s > 0:
            self._sweeper = asyncio.create_task(self._sweep_forever())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.drain()

    async def drain(self) -> None:
        """Wait for the background work started so far (tests, and a clean shutdown)."""
        while self._tasks:
            await asyncio.gather(*tuple(self._tasks), return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(self._logged(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _logged(work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception:  # a failed e-mail never disturbs the show
            log.exception("notification work failed")

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("notification sweep failed")
            await asyncio.sleep(self.sweep_s)

    # -- announcing -----------------------------------------------------------------------

    async def announce(self, show_id: int, kind: AnnouncementKind) -> None:
        """Write the notifications of a show's start or cancellation (once), then e-mail them."""
        async with self.db.write() as tx:
            created = await self._announce(tx, show_id, kind)
        if created:
            await self.send_pending()

    async def _announce(self, tx: Tx, show_id: int, kind: AnnouncementKind) -> int:
        show = await tx.session.get(Show, show_id)
        wanted = ShowStatus.LIVE if kind is AnnouncementKind.LIVE else ShowStatus.CANCELLED
        if show is None or show.status is not wanted:
            return 0
        insert = sqlite_insert if self.db.sqlite else pg_insert
        claimed = await tx.session.scalar(
            insert(ShowAnnouncement)
            .values(show_id=show_id, kind=kind, at=utc_now())
            .on_conflict_do_nothing()
            .returning(ShowAnnouncement.show_id)
        )
        if claimed is None:
            return 0  # announced before: a reconnect, or another instance
        merchant = await tx.session.get(Merchant, show.merchant_id)
        assert merchant is not None
        recipients = await self._recipients(tx, show, kind)
        if not recipients:
            return 0
        opted_out = set(
            (
                await tx.session.scalars(
                    select(EmailOptOut.user_id).where(EmailOptOut.user_id.in_(recipients))
                )
            ).all()
        )
        title, body = _wording(show, merchant, kind)
        rows = [
            {
                "user_id": user_id,
                "show_id": show_id,
                "kind": kind,
                "title": title,
                "body": body,
                "url": f"/shows/{show_id}",
                "created_at": utc_now(),
                "email_state": EmailState.PENDING
                if self.mailer.enabled and user_id not in opted_out
                else EmailState.SKIPPED,
                "email_attempts": 0,
                "email_error": "",
            }
            for user_id in sorted(recipients)
        ]
        await tx.session.execute(insert(Notification).values(rows).on_conflict_do_nothing())
        return len(rows)

    @staticmethod
    async def _recipients(tx: Tx, show: Show, kind: AnnouncementKind) -> set[int]:
        reminded = set(
            (
                await tx.session.scalars(
                    select(ShowReminder.user_id).where(ShowReminder.show_id == show.id)
                )
            ).all()
        )
        if kind is AnnouncementKind.CANCELLED:
            return reminded
        followers = (
            await tx.session.scalars(
                select(Follow.user_id).where(Follow.merchant_id == show.merchant_id)
            )
        ).all()
        return reminded | set(followers)

    # -- sweeping -------------------------------------------------------------------------

    async def sweep(self) -> None:
        """Announce what nobody announced (a show made live by another process, a cancelled
        show with reminders), then send every pending e-mail."""
        async with self.db.read() as session:
            not_announced = ~exists().where(ShowAnnouncement.show_id == Show.id)
            live = (
                await session.scalars(
                    select(Show.id).where(Show.status == ShowStatus.LIVE, not_announced)
                )
            ).all()
            cancelled = (
                await session.scalars(
                    select(Show.id).where(
                        Show.status == ShowStatus.CANCELLED,
                        not_announced,
                        exists().where(ShowReminder.show_id == Show.id),
                    )
                )
            ).all()
        for show_id in live:
            async with self.db.write() as tx:
                await self._announce(tx, show_id, AnnouncementKind.LIVE)
        for show_id in cancelled:
            async with self.db.write() as tx:
                await self._announce(tx, show_id, AnnouncementKind.CANCELLED)
        await self.send_pending()

    async def recover(self) -> None:
        """A send cut off by a restart may have reached the person: never resend it."""
        async with self.db.write() as tx:
            await tx.session.execute(
                update(Notification)
                .where(Notification.email_state == EmailState.SENDING)
                .values(
                    email_state=EmailState.FAILED,
                    email_error="interrupted by a restart; not resent so nobody gets it twice",
                )
            )

    # -- sending --------------------------------------------------------------------------

    async def send_pending(self) -> int:
        """One pass over the pending e-mails, each claimed before it is sent; a failed one waits
        for the next sweep. Returns how many were sent."""
        if not self.mailer.enabled:
            return 0
        async with self.db.read() as session:
            ids = (
                await session.scalars(
                    select(Notification.id)
                    .where(Notification.email_state == EmailState.PENDING)
                    .order_by(Notification.id)
                )
            ).all()
        sent = 0
        for notification_id in ids:
            sent += await self._send_one(notification_id)
        return sent

    async def _send_one(self, notification_id: int) -> int:
        async with self.db.write() as tx:
            claimed = await tx.session.scalar(
                update(Notification)
                .where(
                    Notification.id == notification_id,
                    Notification.email_state == EmailState.PENDING,
                )
                .values(email_state=EmailState.SENDING)
                .returning(Notification.id)
            )
            if claimed is None:
                return 0  # another sender took it
            row = (
                await tx.session.execute(
                    select(Notification, User, Show, Merchant, EmailOptOut.user_id)
                    .join(User, User.id == Notification.user_id)
                    .join(Show, Show.id == Notification.show_id)
                    .join(Merchant, Merchant.id == Show.merchant_id)
                    .outerjoin(EmailOptOut, EmailOptOut.user_id == Notification.user_id)
                    .where(Notification.id == notification_id)
                )
            ).one()
        notification, user, show, merchant, opted_out = row
        if opted_out is not None:
            await self._finish(notification_id, EmailState.SKIPPED, "unsubscribed")
            return 0
        try:
            letter = self.composer.letter(notification, user, show, merchant)
        except Exception as error:  # a template bug must not leave the row claimed forever
            log.exception("e-mail of notification %s could not be written", notification_id)
            await self._finish(notification_id, EmailState.FAILED, str(error)[:300])
            return 0
        try:
            await self.mailer.send(letter)
        except MailNotSent as error:
            attempts = notification.email_attempts + 1
            state = EmailState.FAILED if attempts >= MAX_ATTEMPTS else EmailState.PENDING
            log.warning("e-mail of notification %s not sent: %s", notification_id, error)
            await self._finish(notification_id, state, str(error)[:300], attempts=attempts)
            return 0
        await self._finish(notification_id, EmailState.SENT, "")
        return 1

    async def _finish(
        self, notification_id: int, state: EmailState, error: str, *, attempts: int | None = None
    ) -> None:
        values: dict[str, Any] = {"email_state": state, "email_error": error}
        if attempts is not None:
            values["email_attempts"] = attempts
        if state is EmailState.SENT:
            values["emailed_at"] = utc_now()
        async with self.db.write() as tx:
            await tx.session.execute(
                update(Notification).where(Notification.id == notification_id).values(**values)
            )


def _wording(show: Show, merchant: Merchant, kind: AnnouncementKind) -> tuple[str, str]:
    if kind is AnnouncementKind.LIVE:
        return (
            f"{merchant.brand_name} is live: {show.title}",
            "The show has started. Watch now and shop what you see.",
        )
    starts = show.scheduled_start.strftime("%a %d %b %Y, %H:%M UTC")
    return (
        f"Cancelled: {show.title}",
        f"{merchant.brand_name} cancelled this show, planned for {starts}. "
        "It will not go live, so there is nothing to watch.",
    )
