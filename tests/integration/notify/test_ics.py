"""The calendar file's text rules (RFC 5545): escaping and line folding."""

from __future__ import annotations

from datetime import UTC, datetime

from vitrine.shows.ics import CalendarEvent, escape_text, fold, show_calendar


def test_text_values_escape_backslash_semicolon_comma_and_newlines() -> None:
    assert escape_text("a\\b;c,d\ne\r\nf") == "a\\\\b\\;c\\,d\\ne\\nf"


def test_long_lines_fold_at_75_octets_without_splitting_a_character() -> None:
    line = "DESCRIPTION:" + "é" * 80

    folded = fold(line)

    assert all(len(part.encode()) <= 75 for part in folded)
    assert all(part.startswith(" ") for part in folded[1:])
    assert "".join(part.removeprefix(" ") for part in folded) == line


def test_a_cancelled_show_is_marked_cancelled() -> None:
    event = CalendarEvent(
        uid="show-3@shop.example",
        title="Spring",
        description="",
        starts=datetime(2026, 12, 1, 18, 0, tzinfo=UTC),
        minutes=90,
        url="https://shop.example/shows/3",
        organizer='Brand "Quoted"',
        cancelled=True,
    )

    lines = show_calendar(event, now=datetime(2026, 11, 1, tzinfo=UTC)).split("\r\n")

    assert "DTSTAMP:20261101T000000Z" in lines
    assert "DTSTART:20261201T180000Z" in lines
    assert "DTEND:20261201T193000Z" in lines
    assert "STATUS:CANCELLED" in lines
    assert "ORGANIZER;CN=\"Brand 'Quoted'\":mailto:no-reply@shop.example" in lines
