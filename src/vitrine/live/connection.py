"""One viewer's connection as the edge sees it: who, where its frames go, how far behind it is
and how much it may still send."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

from vitrine.live.events import Viewer


class ViewerConnection:
    """Frames are written straight to the socket's transport (the same bytes for everyone),
    or to the socket itself by the fan-out's writer threads; a viewer whose socket stops
    draining collects a backlog instead, see ShowRoom."""

    __slots__ = (
        "backlog",
        "fd",
        "flood_warned_at",
        "last_heard",
        "protocol",
        "refused",
        "show_id",
        "tokens",
        "tokens_at",
        "transport",
        "viewer",
        "ws",
    )

    def __init__(self, ws: ServerConnection, viewer: Viewer, show_id: str, burst: int) -> None:
        self.ws = ws
        self.transport: asyncio.WriteTransport = ws.transport
        self.protocol = ws.protocol
        # The socket for the writer threads (see FanOut); -1 when only the transport may write
        # (TLS: the bytes on the wire are not the frame's).
        self.fd = _raw_socket_fd(self.transport)
        self.viewer = viewer
        self.show_id = show_id
        # key → (seq, event bytes); keys of superseding events are shared, others are the seq.
        self.backlog: dict[Any, tuple[int, bytes]] = {}
        now = time.monotonic()
        self.last_heard = now
        self.tokens = float(burst)
        self.tokens_at = now
        self.refused = 0
        self.flood_warned_at = 0.0

    @property
    def is_open(self) -> bool:
        """False once a close frame was sent or received: nothing may be written after it."""
        return self.protocol.state is State.OPEN

    def write(self, frame: bytes) -> None:
        """Queue a frame on the socket unless it is closing."""
        if self.protocol.state is State.OPEN:
            self.transport.write(frame)

    def buffered(self) -> int:
        """Bytes written but not yet taken by the kernel."""
        return self.transport.get_write_buffer_size()

    def take_token(self, burst: int, rate_per_s: float) -> bool:
        """Token bucket on inbound messages: False when the client sends too fast."""
        now = time.monotonic()
        self.tokens = min(float(burst), self.tokens + (now - self.tokens_at) * rate_per_s)
        self.tokens_at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True

    def drop(self) -> None:
        """Cut a connection that cannot keep up: the client reconnects and resumes."""
        self.transport.abort()


def _raw_socket_fd(transport: asyncio.WriteTransport) -> int:
    if transport.get_extra_info("sslcontext") is not None:
        return -1
    sock = transport.get_extra_info("socket")
    return -1 if sock is None else int(sock.fileno())
