"""A scheduled show as an iCalendar file (RFC 5545) shoppers add to their calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from vitrine.core.clock import as_utc, utc_now


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    uid: str
    title: str
    description: str
    starts: datetime
    minutes: int
    url: str
    organizer: str
    cancelled: bool = False


def escape_text(value: str) -> str:
    """TEXT value escaping of RFC 5545 §3.3.11: backslash, semicolon, comma and newlines."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def _utc(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> list[str]:
    """Lines of at most 75 octets, continuation lines starting with a space (§3.1); a UTF-8
    character is never split."""
    encoded = line.encode()
    parts: list[str] = []
    limit = 75
    while len(encoded) > limit:
        cut = limit
        while (encoded[cut] & 0xC0) == 0x80:
            cut -= 1
        parts.append(encoded[:cut].decode())
        encoded = encoded[cut:]
        limit = 74  # the leading space of a continuation line counts
    parts.append(encoded.decode())
    return [parts[0], *(" " + part for part in parts[1:])]


def _lines(name: str, value: str) -> list[str]:
    return fold(f"{name}:{value}")


def show_calendar(event: CalendarEvent, *, now: datetime | None = None) -> str:
    """The .ics text: one VEVENT with UTC start and end, a stable UID and the show's URL."""
    ends = event.starts + timedelta(minutes=event.minutes)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Vitrine//Live shows//EN"]
    lines += ["CALSCALE:GREGORIAN", "METHOD:PUBLISH", "BEGIN:VEVENT"]
    for name, value in (
        ("UID", event.uid),
        ("DTSTAMP", _utc(now or utc_now())),
        ("DTSTART", _utc(event.starts)),
        ("DTEND", _utc(ends)),
        ("SUMMARY", escape_text(event.title)),
        ("DESCRIPTION", escape_text(event.description)),
        ("URL", event.url),
        ("ORGANIZER;CN=" + _param(event.organizer), f"mailto:no-reply@{_host(event.url)}"),
        ("STATUS", "CANCELLED" if event.cancelled else "CONFIRMED"),
    ):
        lines += _lines(name, value)
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


def _param(value: str) -> str:
    """A parameter value: quoted, without the characters a quoted value cannot hold."""
    return '"' + value.replace('"', "'").replace("\n", " ").replace("\r", " ") + '"'


def _host(url: str) -> str:
    return urlsplit(url).hostname or "localhost"
