"""WebSocket frames built once and written as the same bytes to every viewer.

A server→client frame is not masked, so one encoded frame is valid on every connection. Every
frame carries a JSON array of events; events of the show's log get their `seq` spliced in front
of the fields, which costs a few bytes of copying instead of re-encoding the event.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from vitrine.live.events import ServerEvent, encode


def with_seq(seq: int, data: bytes) -> bytes:
    """`{"type":…}` → `{"seq":12,"type":…}`: the event as it appears in a frame."""
    return b'{"seq":%d,%s' % (seq, data[1:])


def text_frame(payload: bytes) -> bytes:
    """One final, unmasked, uncompressed text frame holding `payload` (RFC 6455 §5.2)."""
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", 0x81, size) + payload
    if size < 65536:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


def batch_frame(parts: Iterable[bytes]) -> bytes:
    """A frame carrying these already-encoded events as one JSON array."""
    return text_frame(b"[" + b",".join(parts) + b"]")


def single_frame(*events: ServerEvent) -> bytes:
    """A frame for one connection: errors, acks, pongs, welcome."""
    return batch_frame(encode(event) for event in events)
