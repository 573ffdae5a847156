"""What a session runs over: a `MessageSocket`, one WebSocket carrying binary messages.

The session never touches a WebSocket library. It needs three operations,
named here, and each transport gets a small adapter (`corral.tunnel.websocket`
for ASGI and the ``websockets`` client, `corral.tunnel.memory` for tests).
An adapter decides how its library reports a gone peer: ``receive`` raises
`TunnelClosed` then, and so does ``send`` on a socket that can no longer
carry messages; a text message, which the tunnel never sends, is a
`ProtocolError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

import anyio.abc


class MessageSocket(Protocol):
    """One WebSocket (or anything like it) carrying binary messages both ways."""

    async def send(self, data: bytes) -> None:
        """Send one message; waits while the transport applies back-pressure."""
        ...

    async def receive(self) -> bytes:
        """The next message; raises `TunnelClosed` when the socket is gone."""
        ...

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the socket (idempotent; never raises for an already-closed one)."""
        ...


#: Dials ``host:port`` on behalf of the peer; raises `DialRefused` (with a reason) to refuse.
Acceptor = Callable[[str, int], Awaitable[anyio.abc.ByteStream]]
