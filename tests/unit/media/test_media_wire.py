"""RTMP chunks, AMF0 and FLV as bytes on the wire."""

from __future__ import annotations

import asyncio

import pytest

from vitrine.media import amf0
from vitrine.media.flv import (
    AUDIO,
    SCRIPT,
    VIDEO,
    FlvReader,
    FlvTag,
    audio_codec,
    encode_tag,
    file_header,
    video_codec,
)
from vitrine.media.rtmp import ChunkReader, Message, RtmpError, encode_message

pytestmark = pytest.mark.anyio


def test_amf0_commands_round_trip() -> None:
    values = ["connect", 1.0, {"app": "live", "tcUrl": "rtmp://h/live", "fpad": False}, None]
    assert amf0.decode_all(amf0.encode_all(*values)) == values


def test_truncated_amf0_is_an_error() -> None:
    with pytest.raises(amf0.AmfError):
        amf0.decode_all(amf0.encode("publish")[:-2])


def test_flv_tags_round_trip_through_the_reader_in_pieces() -> None:
    tags = [
        FlvTag(SCRIPT, 0, amf0.encode_all("onMetaData", {"width": 640.0})),
        FlvTag(VIDEO, 0, b"\x17\x00\x00\x00\x00cfg"),
        FlvTag(AUDIO, 0x1234567, b"\xaf\x01frame"),
    ]
    data = file_header() + b"".join(encode_tag(t) for t in tags)
    reader = FlvReader()
    got = [t for i in range(0, len(data), 7) for t in reader.feed(data[i : i + 7])]
    assert got == tags
    assert got[1].is_sequence_header and got[1].is_keyframe
    assert not got[2].is_sequence_header


def test_codecs_are_read_from_tag_bodies() -> None:
    assert video_codec(b"\x17\x01") == "h264"
    assert video_codec(b"\x22") == "h263"
    assert video_codec(bytes([0x90]) + b"hvc1") == "hevc"  # enhanced FLV
    assert audio_codec(b"\xaf\x01") == "aac"
    assert audio_codec(b"\x2f") == "mp3"


def _reader(data: bytes) -> ChunkReader:
    stream = asyncio.StreamReader()
    stream.feed_data(data)
    stream.feed_eof()
    return ChunkReader(stream)


async def test_chunked_messages_with_compressed_headers_are_reassembled() -> None:
    # given a 300-byte video message in 128-byte chunks, then a type 2 and a type 3 header
    big = Message(VIDEO, 1, 1000, bytes(range(256)) + bytes(44))
    data = encode_message(6, big, 128)
    data += bytes([0x80 | 6]) + (40).to_bytes(3, "big") + b"x" * 0  # type 2: delta 40
    # a type-2 header reuses length 300: send 300 bytes in 128-byte chunks
    data += b"a" * 128 + bytes([0xC6]) + b"a" * 128 + bytes([0xC6]) + b"a" * 44
    data += bytes([0xC6]) + b"b" * 128 + bytes([0xC6]) + b"b" * 128 + bytes([0xC6]) + b"b" * 44
    reader = _reader(data)
    # when read, then timestamps follow ffmpeg's rule (type 3 repeats the last delta)
    first, second, third = [await reader.read_message() for _ in range(3)]
    assert first == big
    assert (second.timestamp, second.payload) == (1040, b"a" * 300)
    assert (third.timestamp, third.payload) == (1080, b"b" * 300)


async def test_set_chunk_size_is_honoured_and_extended_timestamps_read() -> None:
    size = Message(1, 0, 0, (4096).to_bytes(4, "big"))
    audio = Message(AUDIO, 1, 0x1000000, b"z" * 1000)
    data = encode_message(2, size, 128)
    # type 0 header with an extended timestamp
    data += bytes([4]) + b"\xff\xff\xff" + (1000).to_bytes(3, "big") + bytes([AUDIO])
    data += (1).to_bytes(4, "little") + (0x1000000).to_bytes(4, "big") + b"z" * 1000
    reader = _reader(data)
    assert await reader.read_message() == audio
    assert reader.chunk_size == 4096


async def test_an_absurd_message_length_is_refused() -> None:
    data = bytes([4]) + b"\x00\x00\x00" + (0xFFFFFF).to_bytes(3, "big") + bytes([VIDEO]) + bytes(4)
    with pytest.raises(RtmpError, match="refused"):
        await _reader(data).read_message()


async def test_a_cut_stream_ends_reading() -> None:
    with pytest.raises(EOFError):
        await _reader(bytes([4]) + b"\x00\x00").read_message()
