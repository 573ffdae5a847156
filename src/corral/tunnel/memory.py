"""Two connected in-memory `MessageSocket` ends, for tests and in-process peers.

Each direction is a bounded queue of messages, so a sender waits when the
peer does not read (the back-pressure a real socket has). Closing either end
closes both directions: pending and later ``receive`` calls raise
`TunnelClosed` once the already-queued messages are read, and ``send``
raises it at once.
"""

from __future__ import annotations

import asyncio
from collections import deque

from corral.tunnel.errors import TunnelClosed


class _Pipe:
    """One direction: a bounded FIFO of messages."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.messages: deque[bytes] = deque()
        self.closed = False
        self.readable = asyncio.Event()
        self.writable = asyncio.Event()
        self.writable.set()

    async def put(self, data: bytes) -> None:
        while not self.closed and len(self.messages) >= self.capacity:
            self.writable.clear()
            await self.writable.wait()
        if self.closed:
            raise TunnelClosed("in-memory socket closed")
        self.messages.append(bytes(data))
        self.readable.set()

    async def get(self) -> bytes:
        while not self.messages:
            if self.closed:
                raise TunnelClosed("in-memory socket closed")
            self.readable.clear()
            await self.readable.wait()
        data = self.messages.popleft()
        self.writable.set()
        return data

    def close(self) -> None:
        self.closed = True
        self.readable.set()
        self.writable.set()


class MemorySocket:
    """One end of an in-memory socket pair."""

    def __init__(self, outgoing: _Pipe, incoming: _Pipe) -> None:
        self._outgoing = outgoing
        self._incoming = incoming
        self.close_code: int | None = None

    async def send(self, data: bytes) -> None:
        await self._outgoing.put(data)

    async def receive(self) -> bytes:
        return await self._incoming.get()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.close_code is None:
            self.close_code = code
        self._outgoing.close()
        self._incoming.close()


def socket_pair(capacity: int = 64) -> tuple[MemorySocket, MemorySocket]:
    """Two connected ends; each direction holds at most ``capacity`` unread messages."""
    forward, backward = _Pipe(capacity), _Pipe(capacity)
    return MemorySocket(forward, backward), MemorySocket(backward, forward)
