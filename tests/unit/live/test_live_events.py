"""The wire contract: every event round-trips, is documented, and names what supersedes it."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import msgspec
import pytest

from vitrine.live import events
from vitrine.live.events import (
    ChatMessage,
    DealUpdated,
    ProductPinned,
    ProductUnpinned,
    StockChanged,
    decode_client,
    decode_event,
    encode,
    supersede_key,
)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "events.md"


def all_event_types() -> list[type[msgspec.Struct]]:
    return list(typing.get_args(events.ServerEvent)) + list(
        typing.get_args(events.AnyClientMessage)
    )


def tag_of(kind: type[msgspec.Struct]) -> str:
    return str(kind.__struct_config__.tag)


def test_every_event_has_a_unique_tag_and_a_version() -> None:
    tags = [tag_of(kind) for kind in all_event_types()]

    assert len(tags) == len(set(tags))
    assert all("v" in kind.__struct_fields__ for kind in all_event_types())


def test_every_event_is_documented_with_a_json_example() -> None:
    text = DOCS.read_text()
    documented = set(re.findall(r'"type":\s*"([a-z_]+)"', text))

    missing = {tag_of(kind) for kind in all_event_types()} - documented
    assert not missing, f"docs/events.md lacks an example of {sorted(missing)}"


def test_the_documented_examples_parse_as_the_events_they_show() -> None:
    blocks = re.findall(r"```json\n(.*?)```", DOCS.read_text(), re.S)
    client_tags = {tag_of(kind) for kind in typing.get_args(events.AnyClientMessage)}
    assert blocks
    for block in blocks:
        example = msgspec.json.decode(block)
        example.pop("seq", None) if example.get("type") != "snapshot" else None
        raw = msgspec.json.encode(example)
        parsed = decode_client(raw) if example["type"] in client_tags else decode_event(raw)
        assert tag_of(type(parsed)) == example["type"]


def test_a_chat_message_round_trips_with_its_badges() -> None:
    message = ChatMessage(
        message_id="m1",
        author_id="u1",
        author_name="Ada",
        text="<script>alert(1)</script>",
        is_question=True,
        badges=["host"],
        sent_at=1,
    )

    assert decode_event(encode(message)) == message


def test_events_start_with_their_type_so_the_edge_can_splice_a_seq() -> None:
    assert encode(StockChanged(product_id="p", stock_left=1, sold_out=False)).startswith(
        b'{"type":"stock_changed"'
    )


@pytest.mark.parametrize(
    ("event", "key"),
    [
        (StockChanged(product_id="p1", stock_left=1, sold_out=False), "stock_changed:p1"),
        (DealUpdated(deal_id="d1", stock_left=0, sold_out=True), "deal_updated:d1"),
        (ProductPinned(product_id="p1", title="t", price_minor=1, currency="EUR", at=1), "pin"),
        (ProductUnpinned(product_id="p1", at=1), "pin"),
        (ChatMessage(message_id="m", author_id="u", author_name="A", text="hi", sent_at=1), None),
    ],
)
def test_only_state_events_supersede_each_other(event: events.ShowEvent, key: str | None) -> None:
    assert supersede_key(encode(event)) == key


@pytest.mark.parametrize(
    "raw",
    [b"{}", b'{"type":"chat_post"}', b'{"type":"chat_post","text":"x","evil":1}', b"[]"],
)
def test_malformed_client_messages_are_rejected(raw: bytes) -> None:
    with pytest.raises(msgspec.ValidationError):
        decode_client(raw)
