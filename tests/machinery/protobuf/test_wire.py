"""The wire reader: what it reads back is what was written; garbage is a WireError."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.machinery.protobuf.wire import (
    FIXED32,
    FIXED64,
    LEN,
    VARINT,
    WireError,
    as_float,
    as_signed,
    iter_fields,
    read_packed,
    read_varint,
    zigzag,
)

from .encoder import END_GROUP, START_GROUP, blob, fixed32, fixed64, tag, uint, varint

numbers = st.integers(min_value=1, max_value=(1 << 29) - 1)
records = st.one_of(
    st.tuples(numbers, st.just(VARINT), st.integers(min_value=0, max_value=(1 << 64) - 1)),
    st.tuples(numbers, st.just(FIXED32), st.integers(min_value=0, max_value=(1 << 32) - 1)),
    st.tuples(numbers, st.just(FIXED64), st.integers(min_value=0, max_value=(1 << 64) - 1)),
    st.tuples(numbers, st.just(LEN), st.binary(max_size=300)),
)


def _encode(number: int, wire: int, value: int | bytes) -> bytes:
    if wire == VARINT:
        assert isinstance(value, int)
        return uint(number, value)
    if wire == FIXED32:
        assert isinstance(value, int)
        return fixed32(number, value)
    if wire == FIXED64:
        assert isinstance(value, int)
        return fixed64(number, value)
    assert isinstance(value, bytes)
    return blob(number, value)


@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_varints_read_back(value: int) -> None:
    encoded = varint(value)
    assert read_varint(encoded + b"\x01", 0) == (value, len(encoded))


@given(st.lists(records, max_size=20))
def test_any_sequence_of_fields_reads_back_in_order(
    fields: list[tuple[int, int, int | bytes]],
) -> None:
    buf = b"".join(_encode(*f) for f in fields)
    assert list(iter_fields(buf)) == fields


@given(st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1))
def test_negative_int64_and_zigzag_read_back(value: int) -> None:
    raw, _ = read_varint(varint(value), 0)
    assert as_signed(raw) == value
    assert zigzag((value << 1) ^ (value >> 63)) == value


@given(st.binary(max_size=200))
def test_garbage_is_a_wire_error_or_fields_never_a_crash(data: bytes) -> None:
    try:
        for _ in iter_fields(data):
            pass
    except WireError:
        pass


def test_int32_negative_is_sign_extended_to_ten_bytes() -> None:
    raw, end = read_varint(varint(-1), 0)
    assert end == 10
    assert as_signed(raw, 32) == -1


def test_floats_and_packed_values() -> None:
    assert as_float(0x3FC00000, 32) == 1.5
    assert as_float(0x3FF8000000000000, 64) == 1.5
    assert read_packed(varint(1) + varint(300) + varint(5), VARINT) == [1, 300, 5]
    assert read_packed((7).to_bytes(4, "little"), FIXED32) == [7]


def test_groups_are_skipped_whole() -> None:
    group = tag(5, START_GROUP) + uint(1, 9) + tag(6, START_GROUP) + tag(6, END_GROUP)
    buf = uint(1, 1) + group + tag(5, END_GROUP) + uint(2, 2)
    assert list(iter_fields(buf)) == [(1, VARINT, 1), (2, VARINT, 2)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x08", "truncated varint at byte 1"),
        (b"\x08" + b"\xff" * 11, "varint longer than 10 bytes"),
        (b"\x12\x05abc", "field 2: length 5 at byte 1 runs past the end"),
        (b"\x0e", "invalid wire type 6"),
        (b"\x00\x01", "field number 0"),
        (b"\x0d\x01\x02", "truncated 32-bit value"),
        (tag(3, START_GROUP) + uint(1, 1), "group 3 not closed"),
        (tag(3, START_GROUP) + tag(4, END_GROUP), "group 3 closed by field 4"),
        (tag(3, END_GROUP), "unexpected end of group"),
    ],
)
def test_malformed_input_says_what_is_wrong(data: bytes, message: str) -> None:
    with pytest.raises(WireError, match=message):
        list(iter_fields(data))
