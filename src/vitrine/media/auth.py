"""Who may publish: pure checks shared by the RTMP front door, SRT and the nginx-rtmp callbacks."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs

from vitrine.core.ratelimit import MemoryRateLimiter, RateLimiter, seconds_text
from vitrine.media.model import REFUSAL_MESSAGES, Refusal, ShowStream

log = logging.getLogger(__name__)


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
    retry_after_s: float = 0.0  # THROTTLED: when the address may try again

    @property
    def message(self) -> str:
        """What the encoder is told (OBS shows it)."""
        text = REFUSAL_MESSAGES[self.reason]
        if self.retry_after_s:
            return f"{text} Try again in {seconds_text(self.retry_after_s)}."
        return text


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


COUNTED = frozenset({Refusal.WRONG_KEY, Refusal.UNKNOWN_SHOW})  # guesses; not a busy show


class KeyAttempts:
    """Wrong stream keys counted per publisher address (the RTMP front door, nginx-rtmp's
    on_publish). Past `per_minute` (a burst of that many, then one per 60/`per_minute` s) the
    address is refused before its key is looked at, right or wrong, as log-in does: guessing
    gains nothing. Only wrong keys and unknown names are counted. 0 turns the limit off."""

    def __init__(self, limiter: RateLimiter | None = None, *, per_minute: int = 10) -> None:
        self._limiter = limiter or MemoryRateLimiter()
        self.per_minute = per_minute

    async def judge(self, address: str, decision: Granted | Refused) -> Granted | Refused:
        """The decision to act on: THROTTLED while the address is over its limit."""
        if self.per_minute <= 0:
            return decision
        key = f"streamkey:{address}"
        wait = await self._limiter.peek(key, limit=self.per_minute, window_s=60.0)
        if wait > 0:
            show_id = decision.show.show_id if isinstance(decision, Granted) else decision.show_id
            log.warning(
                "refused a publisher at %s for show %s: too many wrong stream keys, %s to wait",
                address,
                show_id,
                seconds_text(wait),
            )
            return Refused(show_id, Refusal.THROTTLED, retry_after_s=wait)
        if isinstance(decision, Refused) and decision.reason in COUNTED:
            await self._limiter.hit(key, limit=self.per_minute, window_s=60.0)
        return decision
