"""The wire contract of the live channel: every event a viewer or host receives, and every
message a client may send. This module is the single definition; docs/events.md shows each
one as JSON. It imports nothing from the domains: they import it.

Each event is a msgspec Struct tagged by `type` with a version `v`. A change that a deployed
client could misread bumps `v`; adding an optional field does not. Times are UTC milliseconds
since the epoch. Money is integer minor units plus an ISO currency, never floats.
"""

from __future__ import annotations

from typing import Literal

import msgspec

VERSION = 1


class Event(msgspec.Struct, tag_field="type", kw_only=True, frozen=True):
    """Base of every server→client event."""

    v: int = VERSION


# -- show and lineup -----------------------------------------------------------------------


class ShowState(Event, tag="show_state", frozen=True, kw_only=True):
    """The show went live, paused, ended…; `started_at` once it has gone live."""

    show_id: str
    state: Literal["scheduled", "live", "paused", "ended"]
    title: str
    started_at: int | None = None


class LineupItem(msgspec.Struct, kw_only=True, frozen=True):
    """One product of the show's lineup, as the shop strip shows it."""

    product_id: str
    title: str
    price_minor: int
    currency: str
    image_url: str = ""
    stock_left: int | None = None


class LineupChanged(Event, tag="lineup_changed", frozen=True, kw_only=True):
    """The host added, removed or reordered products; `items` is the whole lineup in order."""

    items: list[LineupItem]


class ProductPinned(Event, tag="product_pinned", frozen=True, kw_only=True):
    """The shop banner shows this product. The player holds it until the video reaches `at`."""

    product_id: str
    title: str
    price_minor: int
    currency: str
    image_url: str = ""
    at: int


class ProductUnpinned(Event, tag="product_unpinned", frozen=True, kw_only=True):
    """The shop banner is cleared (at video time `at`)."""

    product_id: str
    at: int


class PriceChanged(Event, tag="price_changed", frozen=True, kw_only=True):
    product_id: str
    price_minor: int
    currency: str


class StockChanged(Event, tag="stock_changed", frozen=True, kw_only=True):
    """Latest stock of a product; buttons disable themselves when `sold_out`."""

    product_id: str
    stock_left: int
    sold_out: bool


# -- flash deals ---------------------------------------------------------------------------


class DealStarted(Event, tag="deal_started", frozen=True, kw_only=True):
    """A flash deal opens at video time `at` and closes at `ends_at` (both UTC ms)."""

    deal_id: str
    product_id: str
    title: str
    price_minor: int
    currency: str
    stock_left: int
    ends_at: int
    at: int


class DealUpdated(Event, tag="deal_updated", frozen=True, kw_only=True):
    """Units left in a deal: only the latest one matters."""

    deal_id: str
    stock_left: int
    sold_out: bool


class DealEnded(Event, tag="deal_ended", frozen=True, kw_only=True):
    deal_id: str
    reason: Literal["sold_out", "expired", "stopped"]
    at: int


# -- chat, questions, moderation ------------------------------------------------------------


class ChatMessage(Event, tag="chat_message", frozen=True, kw_only=True):
    """A chat message; `text` is plain text and must never be interpreted as HTML."""

    message_id: str
    author_id: str
    author_name: str
    text: str
    is_question: bool = False
    badges: list[str] = msgspec.field(default_factory=list)
    sent_at: int


class MessageRemoved(Event, tag="message_removed", frozen=True, kw_only=True):
    message_id: str


class QuestionMarked(Event, tag="question_marked", frozen=True, kw_only=True):
    """A viewer marked an existing message as a question for the host."""

    message_id: str


class QuestionAnswered(Event, tag="question_answered", frozen=True, kw_only=True):
    """The host answered this question: highlight it for everyone."""

    message_id: str


class UserTimedOut(Event, tag="user_timed_out", frozen=True, kw_only=True):
    """The user may not post until `until` (UTC ms); their messages stay unless removed."""

    user_id: str
    until: int


class UserBanned(Event, tag="user_banned", frozen=True, kw_only=True):
    """Banned for all of the merchant's shows; clients hide the user's messages."""

    user_id: str


# -- audience -------------------------------------------------------------------------------


class ReactionsTally(Event, tag="reactions", frozen=True, kw_only=True):
    """Taps per emoji during one tick of the edge (about 100 ms), summed over all instances."""

    counts: dict[str, int]


class ViewerCount(Event, tag="viewer_count", frozen=True, kw_only=True):
    count: int


class Announcement(Event, tag="announcement", frozen=True, kw_only=True):
    """A message from the host shown above the chat."""

    announcement_id: str
    text: str
    at: int


# -- session events, sent to one connection only ----------------------------------------------


class Viewer(msgspec.Struct, kw_only=True, frozen=True):
    """Who is on the other end: `user_id` is None for a guest."""

    user_id: str | None
    display_name: str
    roles: frozenset[str] = frozenset()

    @property
    def is_host(self) -> bool:
        return "host" in self.roles

    @property
    def is_moderator(self) -> bool:
        return bool(self.roles & {"host", "moderator"})


class ShowSnapshot(Event, tag="snapshot", frozen=True, kw_only=True):
    """Everything a fresh screen needs. The domain fills it; the edge stamps `seq`: events with
    a higher seq follow, and they may repeat state already in the snapshot (apply idempotently).
    """

    show: ShowState
    lineup: list[LineupItem] = msgspec.field(default_factory=list)
    pinned: ProductPinned | None = None
    deals: list[DealStarted] = msgspec.field(default_factory=list)
    chat: list[ChatMessage] = msgspec.field(default_factory=list)
    open_questions: list[str] = msgspec.field(default_factory=list)
    viewer_count: int = 0
    seq: int = 0


class Welcome(Event, tag="welcome", frozen=True, kw_only=True):
    """First event of a connection: who the edge thinks you are and how it will continue."""

    show_id: str
    viewer: Viewer
    latest_seq: int
    resumed: bool
    heartbeat_s: float


class Heartbeat(Event, tag="heartbeat", frozen=True, kw_only=True):
    """Sent to every connection every few seconds; `seq` is the show's latest, so a client that
    is behind knows it. It is not itself numbered."""

    latest_seq: int


class Ack(Event, tag="ack", frozen=True, kw_only=True):
    """The action the client tagged `ref` was accepted."""

    ref: str


class Pong(Event, tag="pong", frozen=True, kw_only=True):
    ref: str = ""


ErrorCode = Literal[
    "bad_frame",
    "too_large",
    "unknown_type",
    "flood",
    "not_signed_in",
    "not_allowed",
    "not_live",
    "banned",
    "timed_out",
    "rate_limited",
    "slow_mode",
    "too_long",
    "blocked_word",
    "not_found",
    "unavailable",
    "too_slow",
]


class Error(Event, tag="error", frozen=True, kw_only=True):
    """Sent to one connection only: why its action was refused and, if so, when to retry."""

    code: ErrorCode
    message: str
    retry_after_s: float | None = None
    ref: str | None = None


ShowEvent = (
    ShowState
    | LineupChanged
    | ProductPinned
    | ProductUnpinned
    | PriceChanged
    | StockChanged
    | DealStarted
    | DealUpdated
    | DealEnded
    | ChatMessage
    | MessageRemoved
    | QuestionMarked
    | QuestionAnswered
    | UserTimedOut
    | UserBanned
    | ReactionsTally
    | ViewerCount
    | Announcement
)
"""Events of a show, published on its channel and sequenced (except tallies and counts)."""

ServerEvent = ShowEvent | ShowSnapshot | Welcome | Heartbeat | Ack | Pong | Error


# -- client → server ------------------------------------------------------------------------


class ClientMessage(
    msgspec.Struct, tag_field="type", kw_only=True, frozen=True, forbid_unknown_fields=True
):
    """Base of every client→server message."""

    v: int = VERSION


class Hello(ClientMessage, tag="hello", frozen=True, kw_only=True):
    """First message of a connection. `last_seq` is the last event seen before a reconnect;
    omit it (or send null) on a fresh page to get a snapshot."""

    last_seq: int | None = None


class PostChat(ClientMessage, tag="chat_post", frozen=True, kw_only=True):
    text: str
    ref: str = ""


class MarkQuestion(ClientMessage, tag="mark_question", frozen=True, kw_only=True):
    message_id: str
    ref: str = ""


class React(ClientMessage, tag="react", frozen=True, kw_only=True):
    emoji: str


class Ping(ClientMessage, tag="ping", frozen=True, kw_only=True):
    ref: str = ""


Action = PostChat | MarkQuestion
"""Client messages the edge hands to the domain's ActionHandler."""

AnyClientMessage = Hello | PostChat | MarkQuestion | React | Ping

REACTIONS: frozenset[str] = frozenset({"❤️", "🔥", "😂", "😮", "👏", "🛍️"})
"""The emoji a viewer can tap; anything else is refused, so tallies stay small."""

_encoder = msgspec.json.Encoder()
_server_decoder = msgspec.json.Decoder(ServerEvent)
_client_decoder = msgspec.json.Decoder(AnyClientMessage)


def encode(event: ServerEvent) -> bytes:
    """The JSON bytes of an event as they travel on the wire."""
    return _encoder.encode(event)


def decode_event(data: bytes | str) -> ServerEvent:
    """Parse one server event (tests, tools, the bench)."""
    event: ServerEvent = _server_decoder.decode(data)
    return event


def decode_client(data: bytes | str) -> AnyClientMessage:
    """Parse one client message; raises msgspec.ValidationError / DecodeError when malformed."""
    message: AnyClientMessage = _client_decoder.decode(data)
    return message


SEQUENCED_EXCEPT: frozenset[type[Event]] = frozenset({ReactionsTally, ViewerCount})
"""Show events that carry no seq: superseded a moment later, never worth a resume."""


class _Head(msgspec.Struct):
    """The fields that decide whether a later event supersedes an earlier one."""

    type: str
    product_id: str | None = None
    deal_id: str | None = None


_head_decoder = msgspec.json.Decoder(_Head)

_SUPERSEDING: dict[str, str] = {
    "show_state": "",
    "product_pinned": "pin",
    "product_unpinned": "pin",
    "price_changed": "product_id",
    "stock_changed": "product_id",
    "deal_updated": "deal_id",
    "reactions": "",
    "viewer_count": "",
    "lineup_changed": "",
}


def supersede_key(data: bytes) -> str | None:
    """A key shared by events of which only the latest matters (latest stock of a product,
    latest pin…), or None when every event must be delivered (chat, deals starting…)."""
    head = _head_decoder.decode(data)
    field = _SUPERSEDING.get(head.type)
    if field is None:
        return None
    if field == "product_id":
        return f"{head.type}:{head.product_id}"
    if field == "deal_id":
        return f"{head.type}:{head.deal_id}"
    if field == "pin":
        return "pin"
    return head.type
