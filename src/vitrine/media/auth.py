"""Who may publish: pure checks shared by the RTMP front door, SRT and the nginx-rtmp callbacks."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs

from vitrine.media.model import Refusal, ShowStream


def new_stream_key() -> str:
    """A secret stream key: 32 URL-safe characters (fits an SRT passphrase, 10-79 chars)."""
    return secrets.token_urlsafe(24)


def new_public_name() -> str:
    """The public, random, URL-safe name of a show's stream (appears in HLS URLs)."""
    return secrets.token_urlsafe(9)


def split_publish_name(name: str) -> tuple[str, str | None]:
    """`<public-name>?key=<secret>` -> (public name, key); a bare name gives (name, None)."""
    base, _, query = name.partition("?")
    keys = parse_qs(query, keep_blank_values=True).get("key")
    return base.strip("/"), (keys[0] if keys else None)


@dataclass(frozen=True, slots=True)
class Granted:
    show: ShowStream


@dataclass(frozen=True, slots=True)
class Refused:
    show_id: int | None
    reason: Refusal


def authorise(
    public_name: str, key: str | None, shows: Iterable[ShowStream], live: Collection[int]
) -> Granted | Refused:
    """Decide a publish request.

    Accepted forms: name `<public-name>` with key `<secret>`, or the secret alone as the
    stream name (OBS users who paste only the key). Keys are compared in constant time.
    """
    candidates = list(shows)
    if key is None:
        for show in candidates:
            if hmac.compare_digest(show.stream_key.encode(), public_name.encode()):
                return (
                    Granted(show)
                    if show.show_id not in live
                    else Refused(show.show_id, Refusal.ALREADY_LIVE)
                )
        match = next((s for s in candidates if s.public_name == public_name), None)
        if match is None:
            return Refused(None, Refusal.UNKNOWN_SHOW)
        return Refused(match.show_id, Refusal.WRONG_KEY)
    match = next((s for s in candidates if s.public_name == public_name), None)
    if match is None:
        return Refused(None, Refusal.UNKNOWN_SHOW)
    if not hmac.compare_digest(match.stream_key.encode(), key.encode()):
        return Refused(match.show_id, Refusal.WRONG_KEY)
    if match.show_id in live:
        return Refused(match.show_id, Refusal.ALREADY_LIVE)
    return Granted(match)
