"""`MessageSocket` adapters for the two WebSocket ends Corral has.

- `asgi_message_socket(receive, send)`: inside an ASGI app, on a WebSocket
  the app has already accepted (the server's ``/v3/connect`` endpoint under
  uvicorn). ``websocket.disconnect`` means the peer is gone.
- `websockets_message_socket(conn)`: a client connection of the
  ``websockets`` library (the agent). Open it with ``max_size`` of at least
  `MAX_MESSAGE` (or None), and ``compression=None``: the tunnel mostly
  carries TLS ciphertext, which does not compress, and per-message deflate
  on it costs 20x the throughput (measured: ~10 MB/s instead of 200+). The
  session pings on its own, so ``ping_interval=None`` is fine.

Both turn every transport failure into `TunnelClosed` (the session only needs
to know the socket is gone) and a text message into `ProtocolError` (the
tunnel sends binary messages only).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

from corral.tunnel.errors import ProtocolError, TunnelClosed
from corral.tunnel.frames import MAX_MESSAGE
from corral.tunnel.sockets import MessageSocket

__all__ = ["MAX_MESSAGE", "asgi_message_socket", "websockets_message_socket"]

ASGIMessage = MutableMapping[str, Any]
ASGIReceive = Callable[[], Awaitable[ASGIMessage]]
ASGISend = Callable[[ASGIMessage], Awaitable[None]]


class _ASGISocket:
    def __init__(self, receive: ASGIReceive, send: ASGISend) -> None:
        self._receive = receive
        self._send = send
        self._gone = False
        self._close_sent = False

    async def send(self, data: bytes) -> None:
        if self._gone or self._close_sent:
            raise TunnelClosed("websocket closed")
        try:
            await self._send({"type": "websocket.send", "bytes": data})
        except Exception as exc:
            self._gone = True
            raise TunnelClosed(f"websocket send failed: {type(exc).__name__}") from exc

    async def receive(self) -> bytes:
        if self._gone:
            raise TunnelClosed("websocket closed")
        message = await self._receive()
        kind = message.get("type")
        if kind == "websocket.receive":
            data = message.get("bytes")
            if data is None:
                raise ProtocolError("text message on the tunnel (only binary frames are valid)")
            return bytes(data)
        self._gone = True
        if kind == "websocket.disconnect":
            raise TunnelClosed(f"websocket closed by the peer (code {message.get('code')})")
        raise TunnelClosed(f"websocket ended with an unexpected ASGI message {kind!r}")

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self._gone or self._close_sent:
            return
        self._close_sent = True
        with contextlib.suppress(Exception):
            await self._send({"type": "websocket.close", "code": code, "reason": reason})


def asgi_message_socket(receive: ASGIReceive, send: ASGISend) -> MessageSocket:
    """The `MessageSocket` of an accepted ASGI WebSocket connection."""
    return _ASGISocket(receive, send)


class WebsocketsConnection(Protocol):
    """The part of a ``websockets`` connection the adapter uses."""

    async def send(self, message: bytes) -> None: ...

    async def recv(self) -> str | bytes: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class _WebsocketsSocket:
    def __init__(self, conn: WebsocketsConnection) -> None:
        self._conn = conn

    async def send(self, data: bytes) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await self._conn.send(data)
        except ConnectionClosed as exc:
            raise TunnelClosed(f"websocket closed: {exc}") from exc

    async def receive(self) -> bytes:
        from websockets.exceptions import ConnectionClosed

        try:
            message = await self._conn.recv()
        except ConnectionClosed as exc:
            raise TunnelClosed(f"websocket closed: {exc}") from exc
        if isinstance(message, str):
            raise ProtocolError("text message on the tunnel (only binary frames are valid)")
        return message

    async def close(self, code: int = 1000, reason: str = "") -> None:
        with contextlib.suppress(Exception):
            await self._conn.close(code, reason)


def websockets_message_socket(conn: WebsocketsConnection) -> MessageSocket:
    """The `MessageSocket` of a ``websockets`` (asyncio) client connection."""
    return _WebsocketsSocket(conn)
