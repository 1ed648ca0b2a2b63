"""What the live edge needs from the rest of Vitrine. The web layer says who is connecting,
the shows domain says what a fresh screen shows, the chat domain acts on what viewers send.
Each is a small protocol so the edge stays standalone and testable with real stand-ins."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from vitrine.core.errors import (
    Conflict,
    NotAllowed,
    NotFound,
    NotSignedIn,
    RateLimited,
    Unavailable,
    VitrineError,
)
from vitrine.live.events import Error, ErrorCode, ShowSnapshot, Viewer


@dataclass(frozen=True, slots=True)
class LiveRequest:
    """The WebSocket handshake as the Identify protocol sees it."""

    show_id: str
    headers: Mapping[str, str]
    cookies: Mapping[str, str]
    query: Mapping[str, str]


class Identify(Protocol):
    """Implemented by the web layer: session cookie or `token` query parameter → Viewer.
    Guests get a Viewer with user_id None. Raise NotAllowed/NotFound to refuse the connection."""

    async def identify(self, request: LiveRequest) -> Viewer: ...


class SnapshotSource(Protocol):
    """Implemented by the shows domain: the whole state of a show for a fresh screen.
    Raise NotFound when there is no such show."""

    async def snapshot(self, show_id: str) -> ShowSnapshot: ...


class ActionHandler(Protocol):
    """Implemented by the chat domain. Each method validates, commits, then publishes the
    resulting event through LiveChannel; raising refuses the action for this viewer only."""

    async def post_chat(self, show_id: str, viewer: Viewer, text: str) -> None: ...

    async def mark_question(self, show_id: str, viewer: Viewer, message_id: str) -> None: ...


class ActionRefused(VitrineError):
    """A refusal with a precise error code for the viewer's screen ("slow_mode", "banned"…)."""

    def __init__(self, code: ErrorCode, detail: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(detail)
        self.code: ErrorCode = code
        self.retry_after_s = retry_after_s


def error_event(error: VitrineError, ref: str | None = None) -> Error:
    """The error event a viewer receives for a domain refusal."""
    if isinstance(error, ActionRefused):
        return Error(
            code=error.code, message=error.detail, retry_after_s=error.retry_after_s, ref=ref
        )
    code: ErrorCode = "not_allowed"
    retry_after_s: float | None = None
    if isinstance(error, RateLimited):
        code, retry_after_s = "rate_limited", float(error.retry_after_s)
    elif isinstance(error, NotSignedIn):
        code = "not_signed_in"
    elif isinstance(error, NotFound):
        code = "not_found"
    elif isinstance(error, Conflict):
        code = "not_live"
    elif isinstance(error, Unavailable):
        code = "unavailable"
    elif isinstance(error, NotAllowed):
        code = "not_allowed"
    return Error(code=code, message=error.detail, retry_after_s=retry_after_s, ref=ref)
