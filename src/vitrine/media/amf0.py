"""The subset of AMF0 that RTMP commands use: numbers, booleans, strings, objects, null."""

from __future__ import annotations

import struct
from typing import Any

_NUMBER, _BOOL, _STRING, _OBJECT, _NULL, _UNDEFINED, _ECMA_ARRAY, _OBJECT_END, _STRICT_ARRAY = (
    0x00,
    0x01,
    0x02,
    0x03,
    0x05,
    0x06,
    0x08,
    0x09,
    0x0A,
)
_LONG_STRING = 0x0C


class AmfError(ValueError):
    pass


def encode(value: Any) -> bytes:
    if value is None:
        return bytes([_NULL])
    if isinstance(value, bool):
        return bytes([_BOOL, int(value)])
    if isinstance(value, int | float):
        return bytes([_NUMBER]) + struct.pack(">d", float(value))
    if isinstance(value, str):
        raw = value.encode()
        if len(raw) > 0xFFFF:
            return bytes([_LONG_STRING]) + struct.pack(">I", len(raw)) + raw
        return bytes([_STRING]) + struct.pack(">H", len(raw)) + raw
    if isinstance(value, dict):
        out = bytearray([_OBJECT])
        for key, item in value.items():
            k = str(key).encode()
            out += struct.pack(">H", len(k)) + k + encode(item)
        out += b"\x00\x00" + bytes([_OBJECT_END])
        return bytes(out)
    raise AmfError(f"cannot encode {type(value).__name__}")


def encode_all(*values: Any) -> bytes:
    return b"".join(encode(v) for v in values)


def _read_key(data: bytes, pos: int) -> tuple[str, int]:
    (n,) = struct.unpack_from(">H", data, pos)
    if pos + 2 + n > len(data):
        raise AmfError("truncated AMF0 string")
    return data[pos + 2 : pos + 2 + n].decode("utf-8", "replace"), pos + 2 + n


def _decode_one(data: bytes, pos: int) -> tuple[Any, int]:
    if pos >= len(data):
        raise AmfError("truncated AMF0 value")
    marker = data[pos]
    pos += 1
    try:
        if marker == _NUMBER:
            return struct.unpack_from(">d", data, pos)[0], pos + 8
        if marker == _BOOL:
            return data[pos] != 0, pos + 1
        if marker == _STRING:
            return _read_key(data, pos)
        if marker == _LONG_STRING:
            (n,) = struct.unpack_from(">I", data, pos)
            return data[pos + 4 : pos + 4 + n].decode("utf-8", "replace"), pos + 4 + n
        if marker in (_NULL, _UNDEFINED):
            return None, pos
        if marker in (_OBJECT, _ECMA_ARRAY):
            if marker == _ECMA_ARRAY:
                pos += 4
            obj: dict[str, Any] = {}
            while True:
                if data[pos : pos + 3] == b"\x00\x00\x09":
                    return obj, pos + 3
                key, pos = _read_key(data, pos)
                obj[key], pos = _decode_one(data, pos)
        if marker == _STRICT_ARRAY:
            (n,) = struct.unpack_from(">I", data, pos)
            pos += 4
            items = []
            for _ in range(n):
                item, pos = _decode_one(data, pos)
                items.append(item)
            return items, pos
    except (struct.error, IndexError) as exc:
        raise AmfError("truncated AMF0 value") from exc
    raise AmfError(f"unsupported AMF0 marker {marker:#x}")


def decode_all(data: bytes) -> list[Any]:
    """Decode every AMF0 value in `data` (a command: name, transaction id, arguments...)."""
    values = []
    pos = 0
    while pos < len(data):
        value, pos = _decode_one(data, pos)
        values.append(value)
    return values
