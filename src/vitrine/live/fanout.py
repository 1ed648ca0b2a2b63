"""One frame written to every viewer of a show, spread over several threads.

Almost all the cost of a fan-out is the kernel's send path (on loopback it also runs the
receiver's TCP path in the sender's context), and `os.write` releases the GIL around it, so
threads writing disjoint shares of the viewers keep several cores busy. The rules that keep
every connection's bytes in order:

- A pass runs inside one synchronous call on the event loop: while it runs no callback can
  write to, close or reuse a connection's socket, so the threads never race the loop.
- The threads only read a transport's state and write to sockets whose transport holds no
  bytes: a raw write then lands right after everything sent before.
- Whatever a raw write could not place (a partial write, a full socket, an error) and every
  frame for a connection with bytes already queued goes to the transport, on the loop thread
  after every thread is done; the transport sends it in order and reports errors.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from concurrent.futures import Future, ThreadPoolExecutor

from websockets.protocol import State

from vitrine.live.connection import ViewerConnection

OPEN = State.OPEN

# A connection and how many bytes of the frame reached its socket; the rest goes to its
# transport.
Leftover = tuple[ViewerConnection, int]


class FanOut:
    """Writes one frame to many connections: on the event loop alone (`threads` 1, or a room
    smaller than `threaded_from`), else from `threads` threads including the loop's."""

    def __init__(self, threads: int, threaded_from: int) -> None:
        if threads < 1:
            raise ValueError("writer_threads must be at least 1")
        self.threads = threads
        self.threaded_from = max(threaded_from, threads)
        self._pool = (
            ThreadPoolExecutor(threads - 1, thread_name_prefix="live-writer")
            if threads > 1
            else None
        )
        # Raw writes the socket did not take whole, their rest handed to the transport (seen
        # in tests; many of them mean viewers whose sockets are full).
        self.writes_cut_short = 0

    def write(
        self, connections: Collection[ViewerConnection], frame: bytes, high_water: int | None
    ) -> list[ViewerConnection]:
        """Write `frame` to every open connection. Returns the connections holding more than
        `high_water` bytes, which were not written to (None: write to every one)."""
        if self._pool is None or len(connections) < self.threaded_from:
            return _write_through_transports(connections, frame, high_water)
        # Sorting out on the loop thread keeps the threads' share of the GIL to one call
        # per socket: they contend for it at every write.
        stalled, queued, raw = _sort_out(connections, high_water)
        shares = _split(raw, self.threads)
        futures: list[Future[list[Leftover]]] = []
        leftovers: list[Leftover] = []
        try:
            futures = [self._pool.submit(_write_raw, share, frame) for share in shares[1:]]
            if shares:
                leftovers = _write_raw(shares[0], frame)
        finally:
            # Never touch a transport while a thread may still be writing.
            for future in futures:
                leftovers += future.result()
        for connection in queued:
            connection.transport.write(frame)
        for connection, sent in leftovers:
            connection.transport.write(frame[sent:] if sent else frame)
        self.writes_cut_short += len(leftovers)
        return stalled

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def _write_through_transports(
    connections: Collection[ViewerConnection], frame: bytes, high_water: int | None
) -> list[ViewerConnection]:
    stalled: list[ViewerConnection] = []
    high = -1 if high_water is None else high_water
    for connection in connections:
        transport = connection.transport
        if high >= 0 and transport.get_write_buffer_size() > high:
            stalled.append(connection)
        elif connection.protocol.state is OPEN:
            transport.write(frame)
    return stalled


def _sort_out(
    connections: Collection[ViewerConnection], high_water: int | None
) -> tuple[list[ViewerConnection], list[ViewerConnection], list[ViewerConnection]]:
    """(stalled: over high water, queued: bytes waiting in the transport, raw: the socket is
    all ours). Closing connections are in none: nothing may follow a close frame."""
    high = -1 if high_water is None else high_water
    stalled: list[ViewerConnection] = []
    queued: list[ViewerConnection] = []
    raw: list[ViewerConnection] = []
    for connection in connections:
        transport = connection.transport
        buffered = transport.get_write_buffer_size()
        if high >= 0 and buffered > high:
            stalled.append(connection)
        elif connection.protocol.state is not OPEN or transport.is_closing():
            continue  # a close frame was sent, or the socket is going away
        elif buffered or connection.fd < 0:
            queued.append(connection)
        else:
            raw.append(connection)
    return stalled, queued, raw


def _write_raw(share: list[ViewerConnection], frame: bytes) -> list[Leftover]:
    """Runs in a writer thread (or on the loop for the first share): raw writes only."""
    write = os.write
    size = len(frame)
    leftovers: list[Leftover] = []
    for connection in share:
        try:
            sent = write(connection.fd, frame)
        except OSError:
            sent = 0  # a full socket, or a broken one the transport will close
        if sent < size:
            leftovers.append((connection, sent))
    return leftovers


def _split(connections: list[ViewerConnection], parts: int) -> list[list[ViewerConnection]]:
    size = max(1, -(-len(connections) // parts))
    return [connections[start : start + size] for start in range(0, len(connections), size)]
