"""Server side of the RTMP protocol, enough for encoders that publish (OBS, ffmpeg, phone apps).

`RtmpSession` does the handshake, reads chunks into messages (honouring Set Chunk Size and
timestamp compression), answers connect/releaseStream/FCPublish/createStream, and returns the
publish name; the caller authorises it, then `accept_publish` or `refuse_publish`, then
iterates `media_tags()` for FLV tags.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from vitrine.media import amf0
from vitrine.media.flv import AUDIO, SCRIPT, VIDEO, FlvTag

HANDSHAKE_SIZE = 1536
MAX_MESSAGE = 8 * 1024 * 1024  # a 4K keyframe is well below; 0xFFFFFF is not
OUT_CHUNK_SIZE = 4096
WINDOW = 2_500_000
STREAM_ID = 1
IDLE_TIMEOUT_S = 15.0  # a publisher silent this long is treated as gone

SET_CHUNK_SIZE, ABORT, ACK, USER_CONTROL, WINDOW_ACK_SIZE, SET_PEER_BANDWIDTH = 1, 2, 3, 4, 5, 6
DATA_AMF0, COMMAND_AMF3, COMMAND_AMF0, DATA_AMF3 = 18, 17, 20, 15


class RtmpError(Exception):
    """The peer broke the protocol (garbage, truncated stream, oversized message)."""


@dataclass(slots=True)
class Message:
    type_id: int
    stream_id: int
    timestamp: int
    payload: bytes


@dataclass(slots=True)
class _ChunkStream:
    timestamp: int = 0
    ts_field: int = 0
    length: int = 0
    type_id: int = 0
    stream_id: int = 0
    extended: bool = False
    buf: bytearray = field(default_factory=bytearray)


class ChunkReader:
    """Reads RTMP chunks from a stream and reassembles messages."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self.chunk_size = 128
        self.bytes_read = 0
        self._streams: dict[int, _ChunkStream] = {}

    async def _read(self, n: int) -> bytes:
        try:
            data = await self._reader.readexactly(n)
        except asyncio.IncompleteReadError as exc:
            raise EOFError("publisher disconnected") from exc
        self.bytes_read += n
        return data

    async def read_message(self) -> Message:
        while True:
            first = (await self._read(1))[0]
            fmt, csid = first >> 6, first & 0x3F
            if csid == 0:
                csid = 64 + (await self._read(1))[0]
            elif csid == 1:
                b = await self._read(2)
                csid = 64 + b[0] + b[1] * 256
            cs = self._streams.setdefault(csid, _ChunkStream())
            new_message = not cs.buf
            if fmt == 0:
                h = await self._read(11)
                cs.ts_field = int.from_bytes(h[0:3], "big")
                cs.length = int.from_bytes(h[3:6], "big")
                cs.type_id = h[6]
                cs.stream_id = int.from_bytes(h[7:11], "little")
            elif fmt == 1:
                h = await self._read(7)
                cs.ts_field = int.from_bytes(h[0:3], "big")
                cs.length = int.from_bytes(h[3:6], "big")
                cs.type_id = h[6]
            elif fmt == 2:
                h = await self._read(3)
                cs.ts_field = int.from_bytes(h[0:3], "big")
            if fmt != 3:
                cs.extended = cs.ts_field == 0xFFFFFF
            if cs.extended:
                ext = int.from_bytes(await self._read(4), "big")
                if fmt != 3:
                    cs.ts_field = ext
            if cs.length > MAX_MESSAGE:
                raise RtmpError(f"message of {cs.length} bytes refused")
            if new_message:
                # Same convention as ffmpeg: type 0 is absolute, others add the last field.
                cs.timestamp = cs.ts_field if fmt == 0 else cs.timestamp + cs.ts_field
            take = min(self.chunk_size, cs.length - len(cs.buf))
            if take:
                cs.buf += await self._read(take)
            if len(cs.buf) >= cs.length:
                msg = Message(cs.type_id, cs.stream_id, cs.timestamp & 0xFFFFFFFF, bytes(cs.buf))
                cs.buf = bytearray()
                if msg.type_id == SET_CHUNK_SIZE and len(msg.payload) >= 4:
                    size = int.from_bytes(msg.payload[:4], "big") & 0x7FFFFFFF
                    if not 1 <= size <= MAX_MESSAGE:
                        raise RtmpError(f"bad chunk size {size}")
                    self.chunk_size = size
                    continue
                if msg.type_id == ABORT and len(msg.payload) >= 4:
                    self._streams.pop(int.from_bytes(msg.payload[:4], "big"), None)
                    continue
                return msg


def encode_message(csid: int, msg: Message, chunk_size: int) -> bytes:
    """Chunk one message with a type 0 header then type 3 continuations."""
    ts = min(msg.timestamp, 0xFFFFFF)
    out = bytearray([csid & 0x3F])
    out += ts.to_bytes(3, "big") + len(msg.payload).to_bytes(3, "big") + bytes([msg.type_id])
    out += msg.stream_id.to_bytes(4, "little")
    payload = msg.payload
    out += payload[:chunk_size]
    for i in range(chunk_size, len(payload), chunk_size):
        out += bytes([0xC0 | (csid & 0x3F)]) + payload[i : i + chunk_size]
    return bytes(out)


@dataclass(frozen=True, slots=True)
class PublishRequest:
    app: str
    name: str  # as sent, e.g. "<public-name>?key=<secret>"
    tc_url: str


class RtmpSession:
    """One encoder connection on the front door."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._chunks = ChunkReader(reader)
        self._reader = reader
        self._ack_window = 0
        self._acked = 0
        self.app = ""
        self.tc_url = ""

    async def handshake(self) -> None:
        try:
            c0c1 = await self._reader.readexactly(1 + HANDSHAKE_SIZE)
        except asyncio.IncompleteReadError as exc:
            raise RtmpError("handshake cut short") from exc
        if c0c1[0] != 3:
            raise RtmpError(f"not RTMP (version byte {c0c1[0]})")
        s1 = struct.pack(">II", int(time.monotonic() * 1000) & 0xFFFFFFFF, 0)
        s1 += os.urandom(HANDSHAKE_SIZE - 8)
        self._writer.write(b"\x03" + s1 + c0c1[1:])
        await self._writer.drain()
        try:
            await self._reader.readexactly(HANDSHAKE_SIZE)  # C2: echo of S1, not checked
        except asyncio.IncompleteReadError as exc:
            raise RtmpError("handshake cut short") from exc

    async def _send(self, csid: int, type_id: int, payload: bytes, stream_id: int = 0) -> None:
        self._writer.write(
            encode_message(csid, Message(type_id, stream_id, 0, payload), OUT_CHUNK_SIZE)
        )
        await self._writer.drain()

    async def _command(self, *values: Any, stream_id: int = 0) -> None:
        await self._send(3, COMMAND_AMF0, amf0.encode_all(*values), stream_id)

    async def _next(self) -> Message:
        msg = await self._chunks.read_message()
        if msg.type_id == WINDOW_ACK_SIZE and len(msg.payload) >= 4:
            self._ack_window = int.from_bytes(msg.payload[:4], "big")
        if self._ack_window and self._chunks.bytes_read - self._acked >= self._ack_window:
            self._acked = self._chunks.bytes_read
            await self._send(2, ACK, (self._acked & 0xFFFFFFFF).to_bytes(4, "big"))
        return msg

    @staticmethod
    def _decode_command(msg: Message) -> list[Any]:
        payload = msg.payload[1:] if msg.type_id == COMMAND_AMF3 else msg.payload
        try:
            return amf0.decode_all(payload)
        except amf0.AmfError as exc:
            raise RtmpError(str(exc)) from exc

    async def read_publish(self) -> PublishRequest:
        """Answer the commands that precede `publish` and return the publish request."""
        while True:
            msg = await self._next()
            if msg.type_id not in (COMMAND_AMF0, COMMAND_AMF3):
                if msg.type_id in (AUDIO, VIDEO, DATA_AMF0):
                    raise RtmpError("media before publish")
                continue
            cmd = self._decode_command(msg)
            if not cmd or not isinstance(cmd[0], str):
                raise RtmpError("command without a name")
            name, txn = cmd[0], cmd[1] if len(cmd) > 1 else 0
            if name == "connect":
                props = cmd[2] if len(cmd) > 2 and isinstance(cmd[2], dict) else {}
                self.app = str(props.get("app", ""))
                self.tc_url = str(props.get("tcUrl", ""))
                await self._send(2, WINDOW_ACK_SIZE, WINDOW.to_bytes(4, "big"))
                await self._send(2, SET_PEER_BANDWIDTH, WINDOW.to_bytes(4, "big") + b"\x02")
                await self._send(2, SET_CHUNK_SIZE, OUT_CHUNK_SIZE.to_bytes(4, "big"))
                await self._command(
                    "_result",
                    txn,
                    {"fmsVer": "FMS/3,0,1,123", "capabilities": 31},
                    {
                        "level": "status",
                        "code": "NetConnection.Connect.Success",
                        "description": "Connection succeeded.",
                        "objectEncoding": 0,
                    },
                )
            elif name == "createStream":
                await self._command("_result", txn, None, STREAM_ID)
            elif name == "publish":
                publish_name = cmd[3] if len(cmd) > 3 and isinstance(cmd[3], str) else ""
                return PublishRequest(self.app, publish_name, self.tc_url)
            elif name in ("releaseStream", "FCPublish", "_checkbw"):
                await self._command("_result", txn, None, None)
            # other commands (getStreamLength, FCUnpublish before publish...) need no answer

    async def _status(self, level: str, code: str, description: str) -> None:
        info = {"level": level, "code": code, "description": description}
        await self._command("onStatus", 0, None, info, stream_id=STREAM_ID)

    async def accept_publish(self, name: str) -> None:
        stream_begin = (0).to_bytes(2, "big") + STREAM_ID.to_bytes(4, "big")
        await self._send(2, USER_CONTROL, stream_begin)
        await self._status("status", "NetStream.Publish.Start", f"{name} is now published.")

    async def refuse_publish(
        self, description: str, code: str = "NetStream.Publish.BadName"
    ) -> None:
        with contextlib.suppress(ConnectionError):
            await self._status("error", code, description)

    async def media_tags(self) -> AsyncIterator[FlvTag]:
        """FLV tags of the published stream until the encoder unpublishes or disconnects."""
        watchdog = asyncio.create_task(self._close_when_idle())
        try:
            async for tag in self._tags():
                yield tag
        finally:
            watchdog.cancel()

    async def _close_when_idle(self) -> None:
        """Close a publisher that sends nothing for IDLE_TIMEOUT_S (cheaper than a timeout
        per message): the reader then sees end of stream."""
        seen = -1
        while seen != self._chunks.bytes_read:
            seen = self._chunks.bytes_read
            await asyncio.sleep(IDLE_TIMEOUT_S)
        self._writer.close()

    async def _tags(self) -> AsyncIterator[FlvTag]:
        while True:
            try:
                msg = await self._next()
            except EOFError:
                return
            if msg.type_id in (AUDIO, VIDEO):
                if msg.payload:
                    yield FlvTag(msg.type_id, msg.timestamp, msg.payload)
            elif msg.type_id == DATA_AMF0:
                tag = _metadata_tag(msg)
                if tag is not None:
                    yield tag
            elif msg.type_id in (COMMAND_AMF0, COMMAND_AMF3):
                cmd = self._decode_command(msg)
                if cmd and cmd[0] in ("FCUnpublish", "deleteStream", "closeStream"):
                    return

    def close(self) -> None:
        self._writer.close()


def _metadata_tag(msg: Message) -> FlvTag | None:
    """`@setDataFrame("onMetaData", {...})` becomes the FLV script tag `onMetaData {...}`."""
    prefix = amf0.encode("@setDataFrame")
    payload = msg.payload[len(prefix) :] if msg.payload.startswith(prefix) else msg.payload
    if not payload.startswith(amf0.encode("onMetaData")):
        return None
    return FlvTag(SCRIPT, 0, payload)
