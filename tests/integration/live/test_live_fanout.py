"""How the edge writes one frame to a room's viewers, from the event loop alone and from writer
threads: every viewer gets every frame in order, a viewer whose socket fills gets the rest of a
frame after what it already has, and nothing follows a close frame."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
from typing import Any

import pytest

from tests.integration.live.conftest import WRITE_PATHS, Stage, Watch, publish_until_lagging
from vitrine.live import EdgeSettings
from vitrine.live.events import Announcement

THREADED = {"writer_threads": 2, "threaded_write_from": 2}


def announcement(number: int, text: str = "hello") -> Announcement:
    return Announcement(announcement_id=str(number), text=text, at=1)


@pytest.mark.parametrize("write_path", WRITE_PATHS)
async def test_forty_viewers_receive_every_event_in_order(
    stage: Stage, watch: Watch, write_path: dict[str, int]
) -> None:
    a = await stage.instance(EdgeSettings(tick_s=0.01, heartbeat_s=0.05, **write_path))
    viewers = await asyncio.gather(*(watch(a.url("s1")) for _ in range(40)))
    first_seen = [(await viewer.next_of("snapshot"))["seq"] for viewer in viewers]

    published = []
    for number in range(30):
        published.append(await a.channel.publish("s1", announcement(number)))
        if number % 3 == 0:
            await asyncio.sleep(0.015)  # several frames, not one batch

    for viewer, seen in zip(viewers, first_seen, strict=True):
        received = []
        while len(received) < len([seq for seq in published if seq > seen]):
            event = await viewer.next_of("announcement")
            received.append((event["seq"], event["announcement_id"]))
        expected = [(seq, str(n)) for n, seq in enumerate(published) if seq > seen]
        assert received == expected
    assert published == list(range(published[0], published[0] + 30))


async def test_a_viewer_whose_socket_fills_gets_the_rest_of_each_frame_in_order(
    stage: Stage, watch: Watch
) -> None:
    a = await stage.instance(EdgeSettings(tick_s=0.01, max_backlog=1000, heartbeat_s=5, **THREADED))
    fast = await watch(a.url("s1"))
    # The slow phone stops reading, so its socket fills in the middle of a frame.
    slow = await watch(a.url("s1"), max_queue=1)
    await fast.next_of("snapshot")
    first = await publish_until_lagging(a, "s1")
    for number in range(20):
        await a.channel.publish("s1", announcement(number))
    last = await a.channel.publish("s1", announcement(20, "last"))

    # Every frame reached the slow viewer whole and in order: its WebSocket would have failed
    # on a torn frame, and its events would skip or repeat.
    slow_seqs = []
    while not slow_seqs or slow_seqs[-1] != last:
        event = await slow.next_of("announcement", skip=("snapshot",))
        slow_seqs.append(event["seq"])
    assert slow_seqs == list(range(first, last + 1))
    assert (await fast.until(lambda e: e.get("seq") == last))["text"] == "last"
    assert a.edge.fanout.writes_cut_short > 0


async def test_nothing_reaches_a_viewer_after_its_close_frame(stage: Stage, watch: Watch) -> None:
    # One message a viewer may send and its next one is a flood: the edge closes at once.
    a = await stage.instance(
        EdgeSettings(
            tick_s=0.01,
            heartbeat_s=5,
            flood_burst=1,
            flood_rate_per_s=0.001,
            flood_close_after=1,
            **THREADED,
        )
    )
    bystander = await watch(a.url("s1"))
    await bystander.next_of("snapshot")
    culprit = await RawViewer.connect(a.edge.port, "/shows/s1/live")
    await culprit.send_text(json.dumps({"type": "hello"}))
    await culprit.next_frame()  # welcome and snapshot
    room = a.edge.rooms["s1"]
    (closing,) = [c for c in room.live if c.transport.get_extra_info("peername") == culprit.name]

    # The edge answers the flood with a close frame, then waits for the viewer's (which never
    # comes) while the viewer is still in the room.
    await culprit.send_text(json.dumps({"type": "ping"}))
    await culprit.send_text(json.dumps({"type": "ping"}))
    opcode, payload = await culprit.next_frame()
    while opcode != 0x8:
        opcode, payload = await culprit.next_frame()
    first = await a.channel.publish("s1", announcement(1))
    last = await a.channel.publish("s1", announcement(2))
    await bystander.until(lambda e: e.get("seq") == last)
    still_in_room = closing in room.live

    assert struct.unpack("!H", payload[:2])[0] == 4429
    assert still_in_room, "the edge let the viewer go before the events went out"
    assert await culprit.rest() == b""
    assert last == first + 1


class RawViewer:
    """A WebSocket client written by hand, to see exactly which bytes the edge sent."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.name = writer.get_extra_info("sockname")

    @classmethod
    async def connect(cls, port: int, path: str) -> RawViewer:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        response = await reader.readuntil(b"\r\n\r\n")
        assert response.startswith(b"HTTP/1.1 101"), response
        return cls(reader, writer)

    async def send_text(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x81, 0x80 | size)
        elif size < 65536:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, size)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        self.writer.write(header + mask + masked)
        await self.writer.drain()

    async def next_frame(self) -> tuple[int, bytes]:
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return first & 0x0F, await self.reader.readexactly(size)

    async def rest(self) -> bytes:
        """Everything the edge sends until it closes the connection."""
        data: Any = await self.reader.read()
        self.writer.close()
        return bytes(data)
