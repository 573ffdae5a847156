"""The agent tunnel: many byte streams multiplexed over one WebSocket.

An imported cluster's agent dials out to the server and keeps one WebSocket
open; the server then opens streams through it to addresses inside the
cluster (its API server), and the agent dials them. This package is that
tunnel, independent of who uses it (layer 2: it knows neither the client
nor the API server):

- `frames`: the binary wire format (strict decoding);
- `Session`: streams over one `MessageSocket`, per-stream flow control,
  keepalive, tear-down; `Stream` is an `anyio.abc.ByteStream`;
- `SessionDialer` (a ``client.dialing.Dialer``), `SessionRegistry` (key →
  live session);
- adapters for ASGI and ``websockets`` sockets, and an in-memory pair;
- `TunnelMetrics`: Prometheus series.

Errors: see `corral.tunnel.errors`. docs/tunnel.md describes the protocol.
"""

from corral.tunnel.dialer import SessionDialer
from corral.tunnel.errors import (
    DialRefused,
    DialTimeout,
    ProtocolError,
    StreamReset,
    TunnelClosed,
    TunnelError,
)
from corral.tunnel.frames import MAX_MESSAGE
from corral.tunnel.memory import socket_pair
from corral.tunnel.metrics import TunnelMetrics, metrics_for
from corral.tunnel.registry import SessionRegistry
from corral.tunnel.session import Session
from corral.tunnel.sockets import Acceptor, MessageSocket
from corral.tunnel.stream import Stream
from corral.tunnel.websocket import asgi_message_socket, websockets_message_socket

__all__ = [
    "MAX_MESSAGE",
    "Acceptor",
    "DialRefused",
    "DialTimeout",
    "MessageSocket",
    "ProtocolError",
    "Session",
    "SessionDialer",
    "SessionRegistry",
    "Stream",
    "StreamReset",
    "TunnelClosed",
    "TunnelError",
    "TunnelMetrics",
    "asgi_message_socket",
    "metrics_for",
    "socket_pair",
    "websockets_message_socket",
]
