"""FLV tags: the internal format between ingest (RTMP front door, SRT ffmpeg) and the HLS ffmpeg.

Pure helpers: encode a header and tags, parse a byte stream into tags, read codecs from tags.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

AUDIO = 8
VIDEO = 9
SCRIPT = 18

AVC_CODEC_ID = 7
AAC_SOUND_FORMAT = 10

_VIDEO_CODECS = {2: "h263", 3: "screen", 4: "vp6", 5: "vp6a", 6: "screen2", 7: "h264"}
_AUDIO_CODECS = {
    0: "pcm",
    1: "adpcm",
    2: "mp3",
    3: "pcm_le",
    4: "nellymoser",
    5: "nellymoser",
    6: "nellymoser",
    7: "g711a",
    8: "g711u",
    10: "aac",
    11: "speex",
    14: "mp3",
}
_FOURCCS = {b"hvc1": "hevc", b"av01": "av1", b"vp09": "vp9", b"avc1": "h264"}


@dataclass(frozen=True, slots=True)
class FlvTag:
    kind: int  # AUDIO, VIDEO or SCRIPT
    timestamp_ms: int
    data: bytes

    @property
    def is_keyframe(self) -> bool:
        return self.kind == VIDEO and bool(self.data) and (self.data[0] >> 4) & 0x7 == 1

    @property
    def is_sequence_header(self) -> bool:
        """AVC decoder configuration or AAC AudioSpecificConfig (needed again after a restart)."""
        if self.kind == VIDEO:
            return len(self.data) > 1 and self.data[0] & 0x0F == AVC_CODEC_ID and self.data[1] == 0
        if self.kind == AUDIO:
            return (
                len(self.data) > 1 and self.data[0] >> 4 == AAC_SOUND_FORMAT and self.data[1] == 0
            )
        return False


def video_codec(data: bytes) -> str:
    """Codec name of a video tag body (legacy and enhanced FLV)."""
    if not data:
        return "unknown"
    if data[0] & 0x80:  # enhanced FLV: a FourCC follows the first byte
        return _FOURCCS.get(data[1:5], data[1:5].decode("latin-1"))
    return _VIDEO_CODECS.get(data[0] & 0x0F, f"flv-video-{data[0] & 0x0F}")


def audio_codec(data: bytes) -> str:
    if not data:
        return "unknown"
    return _AUDIO_CODECS.get(data[0] >> 4, f"flv-audio-{data[0] >> 4}")


def file_header(*, audio: bool = True, video: bool = True) -> bytes:
    flags = (0x04 if audio else 0) | (0x01 if video else 0)
    return b"FLV\x01" + bytes([flags]) + struct.pack(">I", 9) + b"\x00\x00\x00\x00"


def encode_tag(tag: FlvTag) -> bytes:
    ts = tag.timestamp_ms & 0xFFFFFFFF
    size = len(tag.data)
    header = (
        bytes([tag.kind])
        + size.to_bytes(3, "big")
        + (ts & 0xFFFFFF).to_bytes(3, "big")
        + bytes([ts >> 24])
        + b"\x00\x00\x00"
    )
    return header + tag.data + struct.pack(">I", size + 11)


class FlvError(ValueError):
    pass


class FlvReader:
    """Incremental FLV parser: feed bytes, take the complete tags."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._header_done = False

    def feed(self, chunk: bytes) -> list[FlvTag]:
        self._buf += chunk
        tags: list[FlvTag] = []
        if not self._header_done:
            if len(self._buf) < 13:
                return tags
            if bytes(self._buf[:3]) != b"FLV":
                raise FlvError("not an FLV stream")
            offset = int.from_bytes(self._buf[5:9], "big")
            del self._buf[: offset + 4]
            self._header_done = True
        while len(self._buf) >= 11:
            size = int.from_bytes(self._buf[1:4], "big")
            if len(self._buf) < 11 + size + 4:
                break
            kind = self._buf[0] & 0x1F
            ts = int.from_bytes(self._buf[4:7], "big") | (self._buf[7] << 24)
            data = bytes(self._buf[11 : 11 + size])
            del self._buf[: 11 + size + 4]
            if kind in (AUDIO, VIDEO, SCRIPT):
                tags.append(FlvTag(kind, ts, data))
        return tags
