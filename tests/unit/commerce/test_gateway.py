import json
from datetime import UTC, datetime, timedelta

import pytest

from vitrine.commerce.errors import WebhookRefused
from vitrine.commerce.gateway import sign_event, verify_signed_event

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
BODY = json.dumps({"id": "evt_1", "type": "payment.succeeded", "reference": "pay_1"}).encode()


def test_a_signature_over_the_raw_body_verifies() -> None:
    signature = sign_event(b"whsec", BODY, at=NOW)

    event = verify_signed_event(b"whsec", BODY, signature, now=NOW + timedelta(minutes=4))

    assert event.event_id == "evt_1"


@pytest.mark.parametrize(
    ("secret", "body", "now", "message"),
    [
        (b"other", BODY, NOW, "signature does not match"),
        (b"whsec", BODY + b" ", NOW, "signature does not match"),
        (b"whsec", BODY, NOW + timedelta(minutes=5, seconds=1), "too old"),
        (b"whsec", BODY, NOW - timedelta(minutes=6), "too old"),
    ],
)
def test_forged_tampered_or_stale_webhooks_are_refused(
    secret: bytes, body: bytes, now: datetime, message: str
) -> None:
    signature = sign_event(secret, BODY, at=NOW)

    with pytest.raises(WebhookRefused, match=message):
        verify_signed_event(b"whsec", body, signature, now=now)


def test_a_header_without_a_timestamp_is_refused() -> None:
    with pytest.raises(WebhookRefused, match="timestamp"):
        verify_signed_event(b"whsec", BODY, "v1=abc", now=NOW)
