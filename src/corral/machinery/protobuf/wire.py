"""The protobuf wire format, read side: varints, tags, and one message's fields.

A message is a sequence of ``(tag, value)`` records; the tag is a varint
``field_number << 3 | wire_type``. `iter_fields` walks one message and yields
each record's number, wire type and raw value (an ``int`` for varint and
fixed-width records, ``bytes`` for length-delimited ones). Groups (wire types
3 and 4, unused by Kubernetes) are skipped whole. Anything truncated or
malformed raises `WireError`, whose text says what was wrong and where.

Also the scalar reinterpretations a field's declared type asks for
(`as_signed`, `zigzag`, `as_float`, …) and `read_packed` for packed repeated
scalars.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

VARINT, FIXED64, LEN, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5
MAX_VARINT_BYTES = 10
MAX_GROUP_DEPTH = 32

WireValue = int | bytes


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The unsigned varint at ``pos`` and the position after it."""
    result = shift = 0
    for i in range(MAX_VARINT_BYTES):
        if pos + i >= len(buf):
            raise WireError(f"truncated varint at byte {pos}")
        byte = buf[pos + i]
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if result >= 1 << 64:
                raise WireError(f"varint out of range at byte {pos}")
            return result, pos + i + 1
        shift += 7
    raise WireError(f"varint longer than {MAX_VARINT_BYTES} bytes at byte {pos}")


def _fixed(buf: bytes, pos: int, size: int) -> tuple[int, int]:
    end = pos + size
    if end > len(buf):
        raise WireError(f"truncated {size * 8}-bit value at byte {pos}")
    return int.from_bytes(buf[pos:end], "little"), end


def _read_value(buf: bytes, pos: int, number: int, wire: int, depth: int) -> tuple[WireValue, int]:
    if wire == VARINT:
        return read_varint(buf, pos)
    if wire == FIXED64:
        return _fixed(buf, pos, 8)
    if wire == FIXED32:
        return _fixed(buf, pos, 4)
    if wire == LEN:
        size, start = read_varint(buf, pos)
        end = start + size
        if end > len(buf):
            raise WireError(
                f"field {number}: length {size} at byte {pos} runs past the end ({len(buf)} bytes)"
            )
        return buf[start:end], end
    if wire == START_GROUP:
        return 0, _skip_group(buf, pos, number, depth + 1)
    if wire == END_GROUP:
        raise WireError(f"field {number}: unexpected end of group at byte {pos}")
    raise WireError(f"field {number}: invalid wire type {wire} at byte {pos}")


def _skip_group(buf: bytes, pos: int, number: int, depth: int) -> int:
    if depth > MAX_GROUP_DEPTH:
        raise WireError(f"groups nested deeper than {MAX_GROUP_DEPTH} at byte {pos}")
    while pos < len(buf):
        tag_at = pos
        tag, pos = read_varint(buf, pos)
        inner, wire = tag >> 3, tag & 7
        if wire == END_GROUP:
            if inner != number:
                raise WireError(f"group {number} closed by field {inner} at byte {tag_at}")
            return pos
        _, pos = _read_value(buf, pos, inner, wire, depth)
    raise WireError(f"group {number} not closed before the end")


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, WireValue]]:
    """Each record of the message ``buf``: ``(field number, wire type, value)``."""
    pos = 0
    while pos < len(buf):
        tag_at = pos
        tag, pos = read_varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise WireError(f"field number 0 at byte {tag_at}")
        value, pos = _read_value(buf, pos, number, wire, 0)
        if wire != START_GROUP:
            yield number, wire, value


def as_signed(value: int, bits: int = 64) -> int:
    """A varint or fixed value read as a two's-complement ``bits``-bit integer."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def zigzag(value: int) -> int:
    """``sint32``/``sint64``: ZigZag decoding."""
    return (value >> 1) ^ -(value & 1)


def as_float(value: int, bits: int) -> float:
    """A ``fixed32`` as ``float`` or a ``fixed64`` as ``double``."""
    if bits == 32:
        result: float = struct.unpack("<f", value.to_bytes(4, "little"))[0]
    else:
        result = struct.unpack("<d", value.to_bytes(8, "little"))[0]
    return result


def read_packed(buf: bytes, wire: int) -> list[int]:
    """The elements of a packed repeated scalar field, as raw ``wire``-type values."""
    out: list[int] = []
    pos = 0
    while pos < len(buf):
        if wire == VARINT:
            value, pos = read_varint(buf, pos)
        elif wire == FIXED64:
            value, pos = _fixed(buf, pos, 8)
        else:
            value, pos = _fixed(buf, pos, 4)
        out.append(value)
    return out
