"""Property: whatever the write sizes, read sizes, window and frame size, bytes come back intact.

Each example runs a server/client session pair over the in-memory socket
with a small window and small frames (so flow control and frame splitting
are exercised all the time), the client's acceptor returning an in-memory
echo; the opener writes chunks, half-closes, and reads back with its own
read sizes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

import anyio
import anyio.abc
from hypothesis import given, settings
from hypothesis import strategies as st

from corral.tunnel import Session
from corral.tunnel.memory import socket_pair


class EchoStream(anyio.abc.ByteStream):
    """An in-memory byte stream that returns what is sent to it; EOF after send_eof."""

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._eof = False
        self._readable = asyncio.Event()

    async def send(self, item: bytes) -> None:
        self._chunks.append(bytes(item))
        self._readable.set()

    async def send_eof(self) -> None:
        self._eof = True
        self._readable.set()

    async def receive(self, max_bytes: int = 65536) -> bytes:
        while not self._chunks:
            if self._eof:
                raise anyio.EndOfStream
            self._readable.clear()
            await self._readable.wait()
        chunk = self._chunks.popleft()
        if len(chunk) > max_bytes:
            self._chunks.appendleft(chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        return chunk

    async def aclose(self) -> None:
        self._eof = True
        self._readable.set()


async def round_trip(chunks: list[bytes], reads: list[int], window: int, frame_size: int) -> bytes:
    async def accept(host: str, port: int) -> anyio.abc.ByteStream:
        return EchoStream()

    ours, theirs = socket_pair(capacity=4)
    knobs = {"window": window, "frame_size": frame_size, "keepalive_interval": None}
    server = Session(ours, name="s", role="server", **knobs)  # type: ignore[arg-type]
    client = Session(theirs, name="c", role="client", accept=accept, **knobs)  # type: ignore[arg-type]
    runs = [asyncio.create_task(server.run()), asyncio.create_task(client.run())]
    try:
        stream = await server.open_stream("echo", 7)
        received = bytearray()

        async def reader() -> None:
            sizes = deque(reads)
            with contextlib.suppress(anyio.EndOfStream):
                while True:
                    size = sizes[0] if sizes else 4096
                    sizes.rotate(-1)
                    received.extend(await stream.receive(size))

        reading = asyncio.create_task(reader())
        for chunk in chunks:
            await stream.send(chunk)
        await stream.send_eof()
        async with asyncio.timeout(30):
            await reading
        await stream.aclose()
        return bytes(received)
    finally:
        await server.close()
        await client.close()
        await asyncio.gather(*runs)


@settings(max_examples=40)
@given(
    chunks=st.lists(st.binary(min_size=0, max_size=5000), max_size=12),
    reads=st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=5),
    window=st.integers(min_value=1, max_value=4096),
    frame_size=st.integers(min_value=1, max_value=2048),
)
def test_bytes_round_trip_intact_under_any_flow_control(
    chunks: list[bytes], reads: list[int], window: int, frame_size: int
) -> None:
    result = asyncio.run(round_trip(chunks, reads, window, frame_size))
    assert result == b"".join(chunks)
