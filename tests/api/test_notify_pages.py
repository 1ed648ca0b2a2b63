"""Remind me, the calendar file, the notifications page and the unsubscribe link, through the
pages a browser uses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.factories import actor_of, make_merchant, make_show, make_user
from tests.integration.notify.smtp_helpers import (
    SmtpServer,
    mail_settings,
    make_notifier,
    running_smtp,
    text_of,
)
from tests.web import Browser
from vitrine.accounts import merchants
from vitrine.accounts.notifications import unsubscribe_token
from vitrine.core.db import Database
from vitrine.shows import reminders, schedule
from vitrine.shows.live_state import ShowLifecycle
from vitrine.shows.reminder_models import EmailOptOut


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from running_smtp()


async def test_remind_me_toggles_and_the_brand_sees_the_count(
    db: Database, browser: Browser, other_browser: Browser
) -> None:
    # given an upcoming show and a signed-in shopper
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    show = await make_show(db, owner, brand)
    await browser.sign_up("ana@example.com", "Ana")

    # when the shopper presses Remind me
    before = await browser.get(f"/shows/{show.id}")
    pressed = await browser.submit(f"/shows/{show.id}/remind", {"on": "1"})
    after = await browser.get(f"/shows/{show.id}")

    # then the button says so, and the brand's owner sees one reminder
    assert "Remind me</button>" in before.text
    assert pressed.status_code == 303
    assert pressed.headers["location"] == f"/shows/{show.id}"
    assert "✓ Reminder set" in after.text
    assert 'data-testid="reminder-count"' not in after.text
    await other_browser.log_in("owner@example.com")
    seen_by_owner = await other_browser.get(f"/shows/{show.id}")
    assert "1 shopper asked for a reminder" in seen_by_owner.text

    # and pressing again clears it
    await browser.submit(f"/shows/{show.id}/remind", {"on": "0"})
    assert await reminders.reminder_count(db, show.id) == 0


async def test_a_guest_is_asked_to_log_in_and_cannot_set_a_reminder(
    db: Database, browser: Browser
) -> None:
    owner = await make_user(db, "owner@example.com")
    show = await make_show(db, owner, await make_merchant(db, owner, "northwind"))

    page = await browser.get(f"/shows/{show.id}")
    refused = await browser.submit(f"/shows/{show.id}/remind", {"on": "1"})

    assert f'href="/login?next=/shows/{show.id}" data-remind>Log in to get a reminder' in page.text
    assert refused.status_code == 401
    assert await reminders.reminder_count(db, show.id) == 0


async def test_a_reminder_for_a_cancelled_show_is_refused_with_the_reason(
    db: Database, browser: Browser
) -> None:
    owner = await make_user(db, "owner@example.com")
    show = await make_show(db, owner, await make_merchant(db, owner, "northwind"))
    await schedule.cancel_show(db, await actor_of(db, owner), show.id)
    await browser.sign_up("ana@example.com")

    refused = await browser.submit(f"/shows/{show.id}/remind", {"on": "1"})

    assert refused.status_code == 409
    assert "This show was cancelled, so there is nothing to remind you of" in refused.text
    assert await reminders.reminder_count(db, show.id) == 0


async def test_calendar_file_of_a_scheduled_show(db: Database, browser: Browser) -> None:
    # given a show whose title and description need escaping
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    show = await make_show(db, owner, brand, title="Coats, hats; gloves")
    async with db.write() as tx:
        stored = await tx.session.get(type(show), show.id)
        assert stored is not None
        stored.description = "Line one\nback\\slash"

    # when a shopper downloads it
    response = await browser.get(f"/shows/{show.id}/calendar.ics")

    # then it is one VEVENT with UTC times, a UID and the show's address
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    lines = response.text.split("\r\n")
    starts = show.scheduled_start
    ends = starts + timedelta(minutes=30)
    assert lines[:6] == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Vitrine//Live shows//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
    ]
    assert f"UID:show-{show.id}@127.0.0.1" in lines
    assert f"DTSTART:{starts.strftime('%Y%m%dT%H%M%SZ')}" in lines
    assert f"DTEND:{ends.strftime('%Y%m%dT%H%M%SZ')}" in lines
    assert "SUMMARY:Coats\\, hats\\; gloves · Northwind" in lines
    assert "DESCRIPTION:Line one\\nback\\\\slash" in lines
    assert f"URL:http://127.0.0.1:8000/shows/{show.id}" in lines
    assert "STATUS:CONFIRMED" in lines
    assert lines[-3:] == ["END:VEVENT", "END:VCALENDAR", ""]
    assert all(len(line.encode()) <= 75 for line in lines)


async def test_unsubscribe_link_from_the_email_works_end_to_end(
    db: Database,
    browser: Browser,
    database_url: str,
    tmp_path: Path,
    smtp: SmtpServer,
) -> None:
    # given a follower who received a go-live e-mail
    settings = mail_settings(database_url, tmp_path, smtp)
    notifier = make_notifier(db, settings)
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    first, second = await make_show(db, owner, brand), await make_show(db, owner, brand, hours=5)
    ben = await make_user(db, "ben@example.com")
    await merchants.follow(db, await actor_of(db, ben), brand.id, on=True)
    await ShowLifecycle(db, on_change=notifier.show_changed).stream_arrived(first.id)
    await notifier.drain()
    found = re.search(
        r"Stop these e-mails: https://shop\.example(/unsubscribe/\S+)",
        text_of(smtp.mailbox.messages[0]),
    )
    assert found is not None
    link = found.group(1)

    # when they open the link and confirm
    confirm = await browser.get(link)
    done = await browser.submit(link)

    # then they are unsubscribed, and the next show's start reaches them in the app only
    assert confirm.status_code == 200
    assert "Stop e-mails from Vitrine?" in confirm.text
    assert done.status_code == 200
    assert "You're unsubscribed" in done.text
    async with db.read() as session:
        assert (await session.scalars(select(EmailOptOut.user_id))).all() == [ben.id]
    await ShowLifecycle(db, on_change=notifier.show_changed).stream_arrived(second.id)
    await notifier.drain()
    assert len(smtp.mailbox.messages) == 1
    await browser.log_in("ben@example.com")
    listing = await browser.get("/notifications")
    assert listing.text.count("Northwind is live: Spring live") == 2
    assert 'data-testid="emails-off"' in listing.text


async def test_a_tampered_unsubscribe_link_is_refused_and_unsubscribes_nobody(
    db: Database, browser: Browser
) -> None:
    # given two people and the real link of one of them, changed to point at the other
    ana = await make_user(db, "ana@example.com")
    ben = await make_user(db, "ben@example.com")
    real = unsubscribe_token("test-secret-key-" + "x" * 32, ana.id)
    signature = real.partition(".")[2]
    tampered = [
        f"{ben.id}.{signature}",
        f"{ana.id}.{signature[:-1]}",
        f"{ana.id}.{'A' * len(signature)}",
        "not-a-token",
    ]

    # when each is opened and submitted
    opened = [await browser.get(f"/unsubscribe/{token}") for token in tampered]
    submitted = [await browser.submit(f"/unsubscribe/{token}") for token in tampered]

    # then each is refused with a clear page and nobody is unsubscribed
    assert [response.status_code for response in opened + submitted] == [400] * 8
    assert all("This unsubscribe link does not work" in r.text for r in opened + submitted)
    assert all("nobody was unsubscribed" in r.text for r in opened + submitted)
    async with db.read() as session:
        assert (await session.scalars(select(EmailOptOut.user_id))).all() == []
    # and the genuine link still works
    assert (await browser.submit(f"/unsubscribe/{real}")).status_code == 200


async def test_notifications_page_and_nav_count(
    db: Database, browser: Browser, database_url: str, tmp_path: Path
) -> None:
    # given a shopper reminded of a show that went live
    owner = await make_user(db, "owner@example.com")
    brand = await make_merchant(db, owner, "northwind")
    show = await make_show(db, owner, brand, title="Winter layers")
    await browser.sign_up("ana@example.com", "Ana")
    await browser.submit(f"/shows/{show.id}/remind", {"on": "1"})
    notifier = make_notifier(db, mail_settings(database_url, tmp_path, None))
    await ShowLifecycle(db, on_change=notifier.show_changed).stream_arrived(show.id)
    await notifier.drain()

    # when they look at the nav count, open the list, and look at the count again
    before = (
        await browser.get("/notifications/unread", headers={"accept": "application/json"})
    ).json()
    listing = await browser.get("/notifications")
    after = (
        await browser.get("/notifications/unread", headers={"accept": "application/json"})
    ).json()

    # then one was unread, the list shows it with its link, and it is read now
    assert before == {"unread": 1}
    assert listing.status_code == 200
    assert (
        f'<a href="/shows/{show.id}"><strong>Northwind is live: Winter layers</strong></a>'
        in listing.text
    )
    assert after == {"unread": 0}


async def test_a_guest_opening_notifications_is_sent_to_log_in(browser: Browser) -> None:
    response = await browser.get("/notifications", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "/login?next=/notifications"
    assert (await browser.get("/notifications/unread")).json() == {"unread": 0}
