"""One error hierarchy for every domain; `web` maps each to an HTTP problem response."""

from __future__ import annotations

from collections.abc import Mapping


class VitrineError(Exception):
    """Base of every error a person can act on. `status` is the HTTP status `web` answers with."""

    status: int = 400
    title: str = "Request refused"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field

    def fields(self) -> Mapping[str, str]:
        return {self.field: self.detail} if self.field else {}


class ValidationFailed(VitrineError):
    """Input that does not fit: names each field and what to do about it."""

    status = 422
    title = "Please correct the highlighted fields"

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        detail = "; ".join(f"{name}: {message}" for name, message in self.errors.items())
        super().__init__(detail)

    def fields(self) -> Mapping[str, str]:
        return self.errors


class NotFound(VitrineError):
    status = 404
    title = "Not found"


class NotAllowed(VitrineError):
    """The caller is known but may not do this."""

    status = 403
    title = "Not allowed"


class NotSignedIn(VitrineError):
    status = 401
    title = "Please sign in"


class Conflict(VitrineError):
    """The request is well formed but the current state forbids it (duplicate, wrong state)."""

    status = 409
    title = "Conflict"


class RateLimited(VitrineError):
    status = 429
    title = "Too many attempts"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class Unavailable(VitrineError):
    """A backing service (database, broker, media) is down; try again shortly."""

    status = 503
    title = "Temporarily unavailable"

    def __init__(self, detail: str, *, retry_after_s: int = 5) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s
