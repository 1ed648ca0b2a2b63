"""Payment providers. `PaymentProvider` is what a real gateway adapter implements;
`TestCardGateway` is built in and behaves like a card gateway, so the whole flow runs end to
end without one: test cards that succeed, decline or need a second step, and a confirmation
that arrives later through a webhook signed with HMAC-SHA256.

Signature header (as Stripe's): `Vitrine-Signature: t=<unix seconds>,v1=<hex>`, where the hex
is HMAC-SHA256(secret, f"{t}." + raw body). Events older or newer than 5 minutes are refused."""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from vitrine.commerce.errors import WebhookRefused
from vitrine.commerce.models import TestCardCharge
from vitrine.core.clock import utc_now
from vitrine.core.db import Database

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Vitrine-Signature"
TOLERANCE_S = 300


class ChargeStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"


@dataclass(frozen=True, slots=True)
class ChargeResult:
    status: ChargeStatus
    message: str = ""


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    event_id: str
    kind: str  # "payment.succeeded" | "payment.failed" | "payment.refunded"
    reference: str  # our payment reference, given to the provider when charging


class PaymentProvider(Protocol):
    name: str

    async def charge(
        self, *, reference: str, amount: int, currency: str, card_number: str
    ) -> ChargeResult:
        """Charge a card. `reference` is ours and unique: charging it twice charges once."""
        ...

    async def confirm(self, *, reference: str) -> ChargeResult:
        """The second step of a charge that answered REQUIRES_ACTION (3-D Secure)."""
        ...

    async def refund(self, *, reference: str, amount: int) -> None:
        """Give the money back; refunding the same reference twice refunds once."""
        ...

    def verify_webhook(self, body: bytes, signature: str) -> WebhookEvent:
        """Check the signature and freshness of a webhook; WebhookRefused otherwise."""
        ...


class TestCards:
    SUCCEEDS = "4242424242424242"
    DECLINED = "4000000000000002"
    NEEDS_CONFIRMATION = "4000002760003184"


Deliver = Callable[[bytes, str], Awaitable[None]]


@dataclass
class TestCardGateway:
    """A card gateway whose books are a table of the shared database (so every instance of a
    cluster sees the same charges, as they would a real gateway's). Each outcome is also sent
    as a signed webhook: kept in `outbox`, and handed to `deliver` (e.g. a POST to the app's
    webhook URL) in a background task when one is given, as a real gateway would call back."""

    __test__ = False  # not a pytest test class

    secret: bytes
    db: Database
    deliver: Deliver | None = None
    clock: Callable[[], datetime] = utc_now
    name: str = "test"
    outbox: list[tuple[bytes, str]] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def charge(
        self, *, reference: str, amount: int, currency: str, card_number: str
    ) -> ChargeResult:
        existing = await self._status_of(reference)
        if existing is not None:
            return ChargeResult(existing)
        digits = "".join(ch for ch in card_number if ch.isdigit())
        if digits == TestCards.SUCCEEDS:
            status = ChargeStatus.SUCCEEDED
        elif digits == TestCards.NEEDS_CONFIRMATION:
            status = ChargeStatus.REQUIRES_ACTION
        else:
            status = ChargeStatus.DECLINED
        try:
            async with self.db.write() as tx:
                tx.session.add(
                    TestCardCharge(
                        reference=reference, amount=amount, currency=currency, status=status.value
                    )
                )
        except IntegrityError:  # the same reference charged at once elsewhere: that one counts
            return ChargeResult(await self._status_of(reference) or ChargeStatus.DECLINED)
        if status is ChargeStatus.SUCCEEDED:
            self._emit("payment.succeeded", reference)
        elif status is ChargeStatus.DECLINED:
            self._emit("payment.failed", reference)
            return ChargeResult(status, "Your card was declined; try another card")
        return ChargeResult(status)

    async def confirm(self, *, reference: str) -> ChargeResult:
        if await self._change(reference, ChargeStatus.REQUIRES_ACTION, status="succeeded"):
            self._emit("payment.succeeded", reference)
        status = await self._status_of(reference)
        if status is None:
            return ChargeResult(ChargeStatus.DECLINED, "This payment was never started")
        return ChargeResult(status)

    async def refund(self, *, reference: str, amount: int) -> None:
        if await self._change(reference, ChargeStatus.SUCCEEDED, refunded=True):
            self._emit("payment.refunded", reference)

    async def _status_of(self, reference: str) -> ChargeStatus | None:
        async with self.db.read() as session:
            status = await session.get(TestCardCharge, reference, populate_existing=True)
        return None if status is None else ChargeStatus(status.status)

    async def _change(self, reference: str, when: ChargeStatus, **values: object) -> bool:
        """Change a charge that is in status `when` (and not refunded); whether one was: of two
        instances confirming or refunding at once, one does it."""
        async with self.db.write() as tx:
            changed = await tx.session.execute(
                update(TestCardCharge)
                .where(
                    TestCardCharge.reference == reference,
                    TestCardCharge.status == when.value,
                    TestCardCharge.refunded.is_(False),
                )
                .values(**values)
            )
        return bool(getattr(changed, "rowcount", 0))

    def sign(self, body: bytes, *, at: datetime | None = None) -> str:
        return sign_event(self.secret, body, at=at or self.clock())

    def verify_webhook(self, body: bytes, signature: str) -> WebhookEvent:
        return verify_signed_event(self.secret, body, signature, now=self.clock())

    def _emit(self, kind: str, reference: str) -> None:
        body = json.dumps(
            {"id": f"evt_{secrets.token_hex(12)}", "type": kind, "reference": reference}
        ).encode()
        signature = self.sign(body)
        self.outbox.append((body, signature))
        if self.deliver is not None:
            task = asyncio.get_running_loop().create_task(self._send(body, signature))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, body: bytes, signature: str) -> None:
        assert self.deliver is not None
        try:
            await self.deliver(body, signature)
        except Exception:  # a real gateway retries later; the outbox keeps it
            log.exception("webhook delivery failed")


def sign_event(secret: bytes, body: bytes, *, at: datetime) -> str:
    """The `t=…,v1=…` header a gateway sends with `body` at time `at`."""
    timestamp = int(at.timestamp())
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify_signed_event(
    secret: bytes, body: bytes, signature: str, *, now: datetime
) -> WebhookEvent:
    """Parse and check `t=…,v1=…` against the raw body; the event it carries."""
    parts = dict(part.split("=", 1) for part in signature.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        raise WebhookRefused("Missing or malformed signature timestamp") from None
    expected = _mac(secret, timestamp, body)
    if not hmac.compare_digest(expected, parts.get("v1", "")):
        raise WebhookRefused("The webhook signature does not match")
    if abs(now.timestamp() - timestamp) > TOLERANCE_S:
        raise WebhookRefused("The webhook is too old (or from the future); refusing a replay")
    try:
        data = json.loads(body)
        return WebhookEvent(str(data["id"]), str(data["type"]), str(data["reference"]))
    except (ValueError, KeyError, TypeError):
        raise WebhookRefused("The webhook body is not an event") from None


def _mac(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
