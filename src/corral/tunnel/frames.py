"""The tunnel's wire format: one frame per binary WebSocket message.

A frame is a 6-byte header followed by a payload that fills the rest of the
message (the WebSocket message already carries the length)::

    0        1        2                 6
    +--------+--------+--------+--------+--------...
    | version| type   | stream id (u32, big endian)| payload
    +--------+--------+--------+--------+--------...

``version`` is 1. Stream id 0 is the session itself (ping/pong); streams
opened by the ``client`` role have odd ids, those opened by the ``server`` role
even ids, so both sides may open streams without colliding. Payloads by type:

=============  ==========================================================
CONNECT        u32 opener's receive window, u16 port, host (UTF-8, 1..255)
CONNECT_OK     u32 acceptor's receive window
DATA           1..MAX_DATA bytes of the stream
WINDOW         u32 credit increment (> 0): the receiver consumed that many
EOF            empty: the sender will send no more data (half-close)
CLOSE          empty: the sender is done with the stream entirely
ERROR          UTF-8 reason (<= 1024 bytes): dial refused, or stream reset
PING, PONG     8 opaque bytes, echoed by PONG
=============  ==========================================================

Decoding is strict: anything that does not fit this table (short header,
unknown version or type, wrong payload size, a stream frame on id 0, a
session frame on a stream id) raises `ProtocolError`; the session closes.
Encoding and decoding are pure functions with no per-byte Python work (the
payload of a DATA frame is sliced once, as a memoryview).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from corral.tunnel.errors import ProtocolError

VERSION = 1
HEADER = struct.Struct("!BBI")
HEADER_SIZE = HEADER.size
#: The largest DATA payload a receiver accepts (senders use smaller frames).
MAX_DATA = 1024 * 1024
#: The largest WebSocket message the tunnel produces: configure clients with it.
MAX_MESSAGE = HEADER_SIZE + MAX_DATA
MAX_REASON = 1024
MAX_HOST = 255
MAX_STREAM_ID = 0xFFFFFFFF
MAX_WINDOW = 0x7FFFFFFF
PING_SIZE = 8

_U32 = struct.Struct("!I")
_CONNECT = struct.Struct("!IH")


class FrameType(enum.IntEnum):
    """What a frame means (the second header byte)."""

    CONNECT = 1
    CONNECT_OK = 2
    DATA = 3
    WINDOW = 4
    EOF = 5
    CLOSE = 6
    ERROR = 7
    PING = 8
    PONG = 9


_SESSION_TYPES = frozenset({FrameType.PING, FrameType.PONG})
_EMPTY_TYPES = frozenset({FrameType.EOF, FrameType.CLOSE})


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame; ``payload`` is the raw payload (a view of the message)."""

    type: FrameType
    stream_id: int
    payload: bytes | memoryview = b""


@dataclass(frozen=True, slots=True)
class ConnectRequest:
    """The payload of a CONNECT frame."""

    window: int
    host: str
    port: int


def encode(type_: FrameType, stream_id: int, payload: bytes | memoryview = b"") -> bytes:
    """One frame as a WebSocket message (one copy of the payload)."""
    return b"".join((HEADER.pack(VERSION, type_, stream_id), payload))


def encode_connect(stream_id: int, window: int, host: str, port: int) -> bytes:
    host_bytes = host.encode("utf-8")
    if not 0 < len(host_bytes) <= MAX_HOST:
        raise ValueError(f"host must be 1..{MAX_HOST} bytes of UTF-8")
    if not 0 < port < 65536:
        raise ValueError("port must be 1..65535")
    return encode(FrameType.CONNECT, stream_id, _CONNECT.pack(window, port) + host_bytes)


def encode_window(type_: FrameType, stream_id: int, amount: int) -> bytes:
    """A CONNECT_OK (``amount`` = window) or WINDOW (``amount`` = increment) frame."""
    return encode(type_, stream_id, _U32.pack(amount))


def encode_error(stream_id: int, reason: str) -> bytes:
    data = reason.encode("utf-8")
    if len(data) > MAX_REASON:
        data = data[:MAX_REASON].decode("utf-8", "ignore").encode("utf-8")
    return encode(FrameType.ERROR, stream_id, data)


def decode(message: bytes | bytearray | memoryview) -> Frame:
    """A message as a `Frame`; `ProtocolError` when it is not a valid frame."""
    view = memoryview(message)
    if len(view) < HEADER_SIZE:
        raise ProtocolError(f"frame of {len(view)} bytes is shorter than its header")
    version, type_code, stream_id = HEADER.unpack_from(view)
    if version != VERSION:
        raise ProtocolError(f"unsupported frame version {version}")
    try:
        type_ = FrameType(type_code)
    except ValueError:
        raise ProtocolError(f"unknown frame type {type_code}") from None
    payload = view[HEADER_SIZE:]
    size = len(payload)
    if type_ in _SESSION_TYPES:
        if stream_id != 0:
            raise ProtocolError(f"{type_.name} frame on stream {stream_id}; it belongs to stream 0")
        if size != PING_SIZE:
            raise ProtocolError(f"{type_.name} payload must be {PING_SIZE} bytes, not {size}")
        return Frame(type_, 0, payload)
    if stream_id == 0:
        raise ProtocolError(f"{type_.name} frame on stream 0, which is reserved for the session")
    if type_ is FrameType.DATA:
        if not 0 < size <= MAX_DATA:
            raise ProtocolError(f"DATA payload of {size} bytes (must be 1..{MAX_DATA})")
    elif type_ in _EMPTY_TYPES:
        if size:
            raise ProtocolError(f"{type_.name} frame with a {size}-byte payload (must be empty)")
    elif type_ in (FrameType.CONNECT_OK, FrameType.WINDOW):
        if size != _U32.size:
            raise ProtocolError(f"{type_.name} payload must be 4 bytes, not {size}")
        (amount,) = _U32.unpack_from(payload)
        if amount == 0:
            raise ProtocolError(f"{type_.name} of 0 bytes")
        if amount > MAX_WINDOW:
            raise ProtocolError(f"{type_.name} of {amount} bytes exceeds {MAX_WINDOW}")
    elif type_ is FrameType.CONNECT:
        _decode_connect(payload)
    elif type_ is FrameType.ERROR and size > MAX_REASON:
        raise ProtocolError(f"ERROR reason of {size} bytes (at most {MAX_REASON})")
    return Frame(type_, stream_id, payload)


def _decode_connect(payload: memoryview) -> ConnectRequest:
    if len(payload) <= _CONNECT.size:
        raise ProtocolError("CONNECT payload too short for window, port and host")
    window, port = _CONNECT.unpack_from(payload)
    host_bytes = bytes(payload[_CONNECT.size :])
    if len(host_bytes) > MAX_HOST:
        raise ProtocolError(f"CONNECT host of {len(host_bytes)} bytes (at most {MAX_HOST})")
    if port == 0:
        raise ProtocolError("CONNECT to port 0")
    if not 0 < window <= MAX_WINDOW:
        raise ProtocolError(f"CONNECT window of {window} bytes is not 1..{MAX_WINDOW}")
    try:
        host = host_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("CONNECT host is not UTF-8") from None
    return ConnectRequest(window, host, port)


def connect_request(frame: Frame) -> ConnectRequest:
    """The address and window of a (decoded, hence valid) CONNECT frame."""
    return _decode_connect(memoryview(frame.payload))


def amount(frame: Frame) -> int:
    """The u32 of a (decoded, hence valid) CONNECT_OK or WINDOW frame."""
    value: int = _U32.unpack_from(frame.payload)[0]
    return value


def reason(frame: Frame) -> str:
    """The text of an ERROR frame (undecodable bytes replaced)."""
    return bytes(frame.payload).decode("utf-8", "replace")
