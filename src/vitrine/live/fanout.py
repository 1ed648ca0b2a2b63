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
        # Frames that reached a transport instead of the socket in threaded passes (seen in
        # tests and worth a glance when tuning).
        self.handed_to_transport = 0

    def write(
        self, connections: Collection[ViewerConnection], frame: bytes, high_water: int | None
    ) -> list[ViewerConnection]:
        """Write `frame` to every open connection. Returns the connections holding more than
        `high_water` bytes, which were not written to (None: write to every one)."""
        if self._pool is None or len(connections) < self.threaded_from:
            return _write_through_transports(connections, frame, high_water)
        shares = _split(list(connections), self.threads)
        futures: list[Future[tuple[list[ViewerConnection], list[Leftover]]]] = []
        try:
            futures = [
                self._pool.submit(_write_share, share, frame, high_water) for share in shares[1:]
            ]
            results = [_write_share(shares[0], frame, high_water)]
        finally:
            # Never touch a transport while a thread may still be writing.
            results_of_threads = [future.result() for future in futures]
        stalled: list[ViewerConnection] = []
        for share_stalled, leftovers in (*results, *results_of_threads):
            stalled.extend(share_stalled)
            for connection, sent in leftovers:
                connection.transport.write(frame[sent:] if sent else frame)
            self.handed_to_transport += len(leftovers)
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


def _write_share(
    share: list[ViewerConnection], frame: bytes, high_water: int | None
) -> tuple[list[ViewerConnection], list[Leftover]]:
    """Runs in a writer thread (or on the loop for the first share): raw writes only."""
    write = os.write
    size = len(frame)
    high = -1 if high_water is None else high_water
    stalled: list[ViewerConnection] = []
    leftovers: list[Leftover] = []
    for connection in share:
        transport = connection.transport
        buffered = transport.get_write_buffer_size()
        if high >= 0 and buffered > high:
            stalled.append(connection)
        elif connection.protocol.state is not OPEN or transport.is_closing():
            continue  # a close frame was sent, or the socket is going away
        elif buffered or connection.fd < 0:
            leftovers.append((connection, 0))  # bytes queued ahead of this frame
        else:
            try:
                sent = write(connection.fd, frame)
            except OSError:
                sent = 0  # a full socket, or a broken one the transport will close
            if sent < size:
                leftovers.append((connection, sent))
    return stalled, leftovers


def _split(connections: list[ViewerConnection], parts: int) -> list[list[ViewerConnection]]:
    size = -(-len(connections) // parts)
    return [connections[start : start + size] for start in range(0, len(connections), size)]
