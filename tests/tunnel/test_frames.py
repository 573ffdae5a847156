"""The tunnel's frame codec: round trips (Hypothesis) and strict refusal of malformed frames."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.tunnel import ProtocolError, frames
from corral.tunnel.frames import FrameType

stream_ids = st.integers(min_value=1, max_value=frames.MAX_STREAM_ID)
windows = st.integers(min_value=1, max_value=frames.MAX_WINDOW)
hosts = st.text(min_size=1, max_size=60).filter(lambda h: len(h.encode()) <= frames.MAX_HOST)


@given(stream_ids, st.binary(min_size=1, max_size=4096))
def test_data_round_trips(stream_id: int, payload: bytes) -> None:
    frame = frames.decode(frames.encode(FrameType.DATA, stream_id, payload))
    assert (frame.type, frame.stream_id, bytes(frame.payload)) == (
        FrameType.DATA,
        stream_id,
        payload,
    )


@given(stream_ids, windows, hosts, st.integers(min_value=1, max_value=65535))
def test_connect_round_trips(stream_id: int, window: int, host: str, port: int) -> None:
    frame = frames.decode(frames.encode_connect(stream_id, window, host, port))
    assert frame.type is FrameType.CONNECT
    assert frame.stream_id == stream_id
    assert frames.connect_request(frame) == frames.ConnectRequest(window, host, port)


@given(stream_ids, windows, st.sampled_from([FrameType.CONNECT_OK, FrameType.WINDOW]))
def test_window_frames_round_trip(stream_id: int, amount: int, type_: FrameType) -> None:
    frame = frames.decode(frames.encode_window(type_, stream_id, amount))
    assert (frame.type, frame.stream_id, frames.amount(frame)) == (type_, stream_id, amount)


@given(stream_ids, st.text(max_size=2000))
def test_error_round_trips_truncated_to_the_limit(stream_id: int, reason: str) -> None:
    frame = frames.decode(frames.encode_error(stream_id, reason))
    assert frame.type is FrameType.ERROR
    decoded = frames.reason(frame)
    assert reason.startswith(decoded)
    assert len(decoded.encode()) <= frames.MAX_REASON


@given(st.binary(min_size=8, max_size=8), st.sampled_from([FrameType.PING, FrameType.PONG]))
def test_ping_pong_round_trip(payload: bytes, type_: FrameType) -> None:
    frame = frames.decode(frames.encode(type_, 0, payload))
    assert (frame.type, frame.stream_id, bytes(frame.payload)) == (type_, 0, payload)


@given(st.binary(max_size=64))
def test_any_bytes_decode_or_raise_protocol_error(message: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        frames.decode(message)


def header(type_: int, stream_id: int, version: int = 1) -> bytes:
    return struct.pack("!BBI", version, type_, stream_id)


@pytest.mark.parametrize(
    ("message", "complaint"),
    [
        (b"\x01\x03", "shorter than its header"),
        (header(FrameType.DATA, 1, version=2) + b"x", "unsupported frame version 2"),
        (header(42, 1), "unknown frame type 42"),
        (header(FrameType.DATA, 0) + b"x", "stream 0"),
        (header(FrameType.DATA, 1), "DATA payload of 0 bytes"),
        (header(FrameType.DATA, 1) + bytes(frames.MAX_DATA + 1), "DATA payload of"),
        (header(FrameType.PING, 3) + bytes(8), "PING frame on stream 3"),
        (header(FrameType.PONG, 0) + bytes(7), "PONG payload must be 8 bytes"),
        (header(FrameType.EOF, 1) + b"x", "EOF frame with a 1-byte payload"),
        (header(FrameType.CLOSE, 1) + b"x", "CLOSE frame with a 1-byte payload"),
        (header(FrameType.WINDOW, 1) + bytes(3), "WINDOW payload must be 4 bytes"),
        (header(FrameType.WINDOW, 1) + bytes(4), "WINDOW of 0 bytes"),
        (header(FrameType.CONNECT_OK, 1) + struct.pack("!I", 2**31), "exceeds"),
        (header(FrameType.CONNECT, 1) + struct.pack("!IH", 10, 80), "too short"),
        (header(FrameType.CONNECT, 1) + struct.pack("!IH", 10, 0) + b"h", "port 0"),
        (header(FrameType.CONNECT, 1) + struct.pack("!IH", 0, 80) + b"h", "window of 0"),
        (header(FrameType.CONNECT, 1) + struct.pack("!IH", 1, 80) + b"\xff", "not UTF-8"),
        (header(FrameType.CONNECT, 1) + struct.pack("!IH", 1, 80) + b"h" * 256, "host of 256"),
        (header(FrameType.ERROR, 1) + b"x" * 1025, "ERROR reason of 1025 bytes"),
    ],
)
def test_malformed_frames_are_protocol_errors(message: bytes, complaint: str) -> None:
    with pytest.raises(ProtocolError, match=complaint):
        frames.decode(message)


def test_encoders_refuse_what_the_decoder_would() -> None:
    with pytest.raises(ValueError, match="host"):
        frames.encode_connect(1, 1, "", 80)
    with pytest.raises(ValueError, match="port"):
        frames.encode_connect(1, 1, "h", 70000)
