"""Frames are valid RFC 6455 server frames that any WebSocket client parses."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from vitrine.live.frames import batch_frame, text_frame, with_seq


def parse(data: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame: Frame = done.value
        return frame
    raise AssertionError("incomplete frame")


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_000])
def test_a_text_frame_of_any_size_parses(size: int) -> None:
    frame = parse(text_frame(b"x" * size))

    assert (frame.opcode, frame.fin, len(frame.data)) == (Opcode.TEXT, True, size)


def test_a_batch_is_a_json_array_with_seq_first() -> None:
    frame = parse(batch_frame([with_seq(7, b'{"type":"a"}'), b'{"type":"b"}']))

    assert frame.data == b'[{"seq":7,"type":"a"},{"type":"b"}]'
