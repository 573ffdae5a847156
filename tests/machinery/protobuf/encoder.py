"""A tiny protobuf encoder for the tests: builds messages field by field."""

from __future__ import annotations

VARINT, FIXED64, LEN, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5


def varint(value: int) -> bytes:
    """``value`` as a varint; negative numbers as 64-bit two's complement."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def tag(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def uint(number: int, value: int) -> bytes:
    return tag(number, VARINT) + varint(value)


def fixed32(number: int, value: int) -> bytes:
    return tag(number, FIXED32) + value.to_bytes(4, "little")


def fixed64(number: int, value: int) -> bytes:
    return tag(number, FIXED64) + value.to_bytes(8, "little")


def blob(number: int, value: bytes) -> bytes:
    return tag(number, LEN) + varint(len(value)) + value


def text(number: int, value: str) -> bytes:
    return blob(number, value.encode())


def msg(number: int, *parts: bytes) -> bytes:
    return blob(number, b"".join(parts))


def entry(number: int, key: str, value: bytes) -> bytes:
    """One map entry: key (field 1) and an already encoded value field (2)."""
    return msg(number, text(1, key), value)


def envelope(raw: bytes, api_version: str = "", kind: str = "") -> bytes:
    """``k8s\\x00`` + ``runtime.Unknown`` around the object message ``raw``."""
    type_meta = b""
    if api_version or kind:
        type_meta = msg(1, text(1, api_version), text(2, kind))
    return b"k8s\x00" + type_meta + blob(2, raw)
