import json
from datetime import UTC, datetime, timedelta

import pytest

from vitrine.commerce.errors import WebhookRefused
from vitrine.commerce.gateway import ChargeStatus, TestCardGateway, TestCards, verify_signed_event

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
BODY = json.dumps({"id": "evt_1", "type": "payment.succeeded", "reference": "pay_1"}).encode()


def gateway() -> TestCardGateway:
    return TestCardGateway(secret=b"whsec", clock=lambda: NOW)


@pytest.mark.parametrize(
    ("card", "status"),
    [
        (TestCards.SUCCEEDS, ChargeStatus.SUCCEEDED),
        ("4242 4242 4242 4242", ChargeStatus.SUCCEEDED),
        (TestCards.DECLINED, ChargeStatus.DECLINED),
        (TestCards.NEEDS_CONFIRMATION, ChargeStatus.REQUIRES_ACTION),
        ("1234", ChargeStatus.DECLINED),
    ],
)
async def test_test_cards_behave_like_a_gateway(card: str, status: ChargeStatus) -> None:
    result = await gateway().charge(reference="pay_1", amount=100, currency="EUR", card_number=card)

    assert result.status is status


async def test_the_second_step_succeeds_and_sends_a_signed_webhook() -> None:
    test = gateway()
    await test.charge(
        reference="pay_1", amount=100, currency="EUR", card_number=TestCards.NEEDS_CONFIRMATION
    )

    assert (await test.confirm(reference="pay_1")).status is ChargeStatus.SUCCEEDED

    (body, signature) = test.outbox[-1]
    event = test.verify_webhook(body, signature)
    assert (event.kind, event.reference) == ("payment.succeeded", "pay_1")


def test_a_signature_over_the_raw_body_verifies() -> None:
    signature = gateway().sign(BODY)

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
    signature = TestCardGateway(secret=secret, clock=lambda: NOW).sign(BODY)

    with pytest.raises(WebhookRefused, match=message):
        verify_signed_event(b"whsec", body, signature, now=now)


def test_a_header_without_a_timestamp_is_refused() -> None:
    with pytest.raises(WebhookRefused, match="timestamp"):
        verify_signed_event(b"whsec", BODY, "v1=abc", now=NOW)
