"""Going live tells those who asked: one in-app notification and one e-mail each, once."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from tests.factories import actor_of, make_merchant, make_show, make_user
from tests.integration.notify.smtp_helpers import (
    SmtpServer,
    html_of,
    mail_settings,
    make_notifier,
    text_of,
)
from vitrine.accounts import merchants, notifications
from vitrine.accounts.notifications import unsubscribe_token
from vitrine.core.db import Database
from vitrine.shows import reminders, schedule
from vitrine.shows.live_state import ShowLifecycle
from vitrine.shows.reminder_models import AnnouncementKind, EmailState, Notification


async def _states(db: Database) -> dict[str, EmailState]:
    async with db.read() as session:
        rows = (await session.scalars(select(Notification).order_by(Notification.id))).all()
        return {str(row.user_id): row.email_state for row in rows}


async def test_go_live_emails_each_reminded_shopper_and_follower_once(
    db: Database, database_url: str, tmp_path: Path, smtp: SmtpServer
) -> None:
    # given a show, a shopper who pressed Remind me, a follower of the brand and a bystander
    settings = mail_settings(database_url, tmp_path, smtp)
    notifier = make_notifier(db, settings)
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    show = await make_show(db, owner, brand, title="Winter layers, live")
    ana = await make_user(db, "ana@example.com", name="Ana")
    ben = await make_user(db, "ben@example.com", name="Ben")
    await make_user(db, "carl@example.com")
    await reminders.set_reminder(db, await actor_of(db, ana), show.id, on=True)
    await merchants.follow(db, await actor_of(db, ben), brand.id, on=True)
    lifecycle = ShowLifecycle(db, on_change=notifier.show_changed)

    # when the stream arrives, drops and comes back (a reconnect), and arrives again
    await lifecycle.stream_arrived(show.id)
    await notifier.drain()
    await lifecycle.stream_lost(show.id)
    await lifecycle.stream_arrived(show.id)
    await notifier.drain()
    await notifier.sweep()

    # then each of the two got exactly one e-mail, and nobody else got any
    assert sorted(message["To"] for message in smtp.mailbox.messages) == [
        "ana@example.com",
        "ben@example.com",
    ]
    message = smtp.mailbox.to("ana@example.com")[0]
    assert message["Subject"] == "Northwind is live: Winter layers, live"
    assert message["From"] == "Vitrine <no-reply@localhost>"
    token = unsubscribe_token(settings.secret_key, ana.id)
    unsubscribe_url = f"https://shop.example/unsubscribe/{token}"
    assert message["List-Unsubscribe"] == f"<{unsubscribe_url}>"
    text = text_of(message)
    assert "Hello Ana," in text
    assert f"Watch and shop: https://shop.example/shows/{show.id}" in text
    assert f"Stop these e-mails: {unsubscribe_url}" in text
    html = html_of(message)
    assert f'href="https://shop.example/shows/{show.id}"' in html
    assert f'href="{unsubscribe_url}"' in html
    # and each has one unread in-app notification
    assert await _states(db) == {str(ana.id): EmailState.SENT, str(ben.id): EmailState.SENT}
    page = await notifications.notifications_of(db, await actor_of(db, ana))
    assert [(n.kind, n.title, n.url) for n in page.items] == [
        (AnnouncementKind.LIVE, "Northwind is live: Winter layers, live", f"/shows/{show.id}")
    ]
    assert await notifications.unread_count(db, await actor_of(db, ana)) == 1


async def test_a_second_notifier_or_a_restart_never_sends_twice(
    db: Database, database_url: str, tmp_path: Path, smtp: SmtpServer
) -> None:
    # given a show that went live and was announced by one instance
    settings = mail_settings(database_url, tmp_path, smtp)
    first = make_notifier(db, settings)
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    show = await make_show(db, owner, brand)
    ana = await make_user(db, "ana@example.com")
    await reminders.set_reminder(db, await actor_of(db, ana), show.id, on=True)
    await ShowLifecycle(db, on_change=first.show_changed).stream_arrived(show.id)
    await first.drain()

    # when another instance (or the same after a restart) starts and sweeps
    second = make_notifier(db, settings)
    await second.recover()
    await second.sweep()
    await second.show_changed(show)
    await second.drain()

    # then the shopper still has one e-mail and one notification
    assert [message["To"] for message in smtp.mailbox.messages] == ["ana@example.com"]
    assert len((await notifications.notifications_of(db, await actor_of(db, ana))).items) == 1


async def test_a_send_cut_off_by_a_restart_is_not_resent(
    db: Database, database_url: str, tmp_path: Path, smtp: SmtpServer
) -> None:
    # given a notification whose e-mail was being sent when the process died
    settings = mail_settings(database_url, tmp_path, smtp.__class__("127.0.0.1", 1, smtp.mailbox))
    offline = make_notifier(db, settings)
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    show = await make_show(db, owner, brand)
    ana = await make_user(db, "ana@example.com")
    await reminders.set_reminder(db, await actor_of(db, ana), show.id, on=True)
    await ShowLifecycle(db).stream_arrived(show.id)
    async with db.write() as tx:
        await offline._announce(tx, show.id, AnnouncementKind.LIVE)
    async with db.write() as tx:
        row = await tx.session.scalar(select(Notification))
        assert row is not None
        row.email_state = EmailState.SENDING

    # when the instance starts again with a working SMTP server
    restarted = make_notifier(db, mail_settings(database_url, tmp_path, smtp))
    await restarted.recover()
    await restarted.sweep()

    # then nothing is resent, and the record says why
    assert smtp.mailbox.messages == []
    async with db.read() as session:
        row = await session.scalar(select(Notification))
    assert row is not None
    assert row.email_state is EmailState.FAILED
    assert row.email_error == "interrupted by a restart; not resent so nobody gets it twice"


async def test_without_smtp_server_notifications_are_in_app_only(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    # given an instance with no SMTP host and a shopper who asked for a reminder
    notifier = make_notifier(db, mail_settings(database_url, tmp_path, None))
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    show = await make_show(db, owner, brand)
    ana = await make_user(db, "ana@example.com")
    await reminders.set_reminder(db, await actor_of(db, ana), show.id, on=True)

    # when the show goes live
    await ShowLifecycle(db, on_change=notifier.show_changed).stream_arrived(show.id)
    await notifier.drain()

    # then the notification is in the app and its e-mail is marked skipped
    assert await _states(db) == {str(ana.id): EmailState.SKIPPED}
    assert await notifications.unread_count(db, await actor_of(db, ana)) == 1


async def test_a_failing_smtp_server_is_retried_on_the_next_sweep(
    db: Database, database_url: str, tmp_path: Path, smtp: SmtpServer
) -> None:
    # given an SMTP server that is down when the show goes live
    down = mail_settings(database_url, tmp_path, smtp.__class__("127.0.0.1", 1, smtp.mailbox))
    notifier = make_notifier(db, down)
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    show = await make_show(db, owner, brand)
    ana = await make_user(db, "ana@example.com")
    await reminders.set_reminder(db, await actor_of(db, ana), show.id, on=True)
    await ShowLifecycle(db, on_change=notifier.show_changed).stream_arrived(show.id)
    await notifier.drain()
    assert await _states(db) == {str(ana.id): EmailState.PENDING}

    # when it is back and the next sweep runs
    await make_notifier(db, mail_settings(database_url, tmp_path, smtp)).sweep()

    # then the e-mail arrives once
    assert [message["To"] for message in smtp.mailbox.messages] == ["ana@example.com"]
    assert await _states(db) == {str(ana.id): EmailState.SENT}


async def test_a_cancelled_show_tells_reminded_shoppers_and_never_sends_go_live(
    db: Database, database_url: str, tmp_path: Path, smtp: SmtpServer
) -> None:
    # given a shopper who asked for a reminder and a follower of the brand
    settings = mail_settings(database_url, tmp_path, smtp)
    notifier = make_notifier(db, settings)
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    show = await make_show(db, owner, brand, title="Spring live")
    ana = await make_user(db, "ana@example.com")
    ben = await make_user(db, "ben@example.com")
    await reminders.set_reminder(db, await actor_of(db, ana), show.id, on=True)
    await merchants.follow(db, await actor_of(db, ben), brand.id, on=True)

    # when the brand cancels the show, and its stream arrives anyway
    await schedule.cancel_show(db, await actor_of(db, owner), show.id)
    await notifier.sweep()
    cancelled = await ShowLifecycle(db, on_change=notifier.show_changed).stream_arrived(show.id)
    await notifier.drain()
    await notifier.sweep()

    # then only the reminded shopper is told, once, that it was cancelled
    assert cancelled.status.value == "cancelled"
    assert [message["To"] for message in smtp.mailbox.messages] == ["ana@example.com"]
    message = smtp.mailbox.messages[0]
    assert message["Subject"] == "Cancelled: Spring live"
    assert "This show was cancelled: Spring live" in text_of(message)
    assert "no go-live e-mail will follow" in text_of(message)
    page = await notifications.notifications_of(db, await actor_of(db, ana))
    assert [(n.kind, n.title) for n in page.items] == [
        (AnnouncementKind.CANCELLED, "Cancelled: Spring live")
    ]
    assert await notifications.unread_count(db, await actor_of(db, ben)) == 0


async def test_no_email_after_unsubscribing_but_the_notification_stays(
    db: Database, database_url: str, tmp_path: Path, smtp: SmtpServer
) -> None:
    # given a follower who unsubscribed from e-mails
    settings = mail_settings(database_url, tmp_path, smtp)
    notifier = make_notifier(db, settings)
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    show = await make_show(db, owner, brand)
    ben = await make_user(db, "ben@example.com")
    await merchants.follow(db, await actor_of(db, ben), brand.id, on=True)
    await notifications.unsubscribe(db, ben.id)

    # when the show goes live
    await ShowLifecycle(db, on_change=notifier.show_changed).stream_arrived(show.id)
    await notifier.drain()

    # then no e-mail, one in-app notification
    assert smtp.mailbox.messages == []
    assert await _states(db) == {str(ben.id): EmailState.SKIPPED}
    assert await notifications.unread_count(db, await actor_of(db, ben)) == 1
