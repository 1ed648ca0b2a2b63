"""The built-in test gateway behaves like one card gateway for every instance of a cluster:
its charges are in the shared database, so a card's second step or a refund can reach
another instance than the one that charged it."""

import asyncio
import json
from datetime import UTC, datetime

import pytest

from vitrine.commerce.gateway import ChargeStatus, TestCardGateway, TestCards
from vitrine.core.db import Database

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def instance(db: Database) -> TestCardGateway:
    """One app instance's view of the gateway."""
    return TestCardGateway(secret=b"whsec", db=db, clock=lambda: NOW)


def kinds(gateway: TestCardGateway) -> list[tuple[str, str]]:
    """The webhooks this instance's gateway sent: (kind, our reference)."""
    events = [gateway.verify_webhook(body, signature) for body, signature in gateway.outbox]
    return [(event.kind, event.reference) for event in events]


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
async def test_test_cards_behave_like_a_gateway(
    db: Database, card: str, status: ChargeStatus
) -> None:
    result = await instance(db).charge(
        reference="pay_1", amount=100, currency="EUR", card_number=card
    )

    assert result.status is status


async def test_charging_a_reference_again_charges_once(db: Database) -> None:
    a, b = instance(db), instance(db)

    first = await a.charge(
        reference="pay_1", amount=100, currency="EUR", card_number=TestCards.SUCCEEDS
    )
    again = await b.charge(
        reference="pay_1", amount=100, currency="EUR", card_number=TestCards.DECLINED
    )

    assert (first.status, again.status) == (ChargeStatus.SUCCEEDED, ChargeStatus.SUCCEEDED)
    assert kinds(a) == [("payment.succeeded", "pay_1")]
    assert kinds(b) == []


async def test_the_second_step_on_another_instance_succeeds_and_sends_a_signed_webhook(
    db: Database,
) -> None:
    a, b = instance(db), instance(db)
    await a.charge(
        reference="pay_1", amount=100, currency="EUR", card_number=TestCards.NEEDS_CONFIRMATION
    )

    confirmed = await b.confirm(reference="pay_1")
    again = await a.confirm(reference="pay_1")
    unknown = await b.confirm(reference="pay_404")

    assert confirmed.status is ChargeStatus.SUCCEEDED
    assert again.status is ChargeStatus.SUCCEEDED
    assert (unknown.status, unknown.message) == (
        ChargeStatus.DECLINED,
        "This payment was never started",
    )
    assert kinds(b) == [("payment.succeeded", "pay_1")]
    assert kinds(a) == []  # the charge itself waited for the second step


async def test_two_instances_refunding_at_once_refund_once(db: Database) -> None:
    a, b = instance(db), instance(db)
    await a.charge(reference="pay_1", amount=100, currency="EUR", card_number=TestCards.SUCCEEDS)
    await a.charge(reference="pay_2", amount=100, currency="EUR", card_number=TestCards.DECLINED)

    await asyncio.gather(
        a.refund(reference="pay_1", amount=100), b.refund(reference="pay_1", amount=100)
    )
    await b.refund(reference="pay_2", amount=100)  # a declined charge has nothing to give back

    refunds = [
        json.loads(body)["reference"]
        for gateway in (a, b)
        for body, _ in gateway.outbox
        if b"payment.refunded" in body
    ]
    assert refunds == ["pay_1"]
