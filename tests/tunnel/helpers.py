"""Shared pieces of the tunnel tests: a real TCP echo server, a session pair, leak checks.

`echo_server` is a real loopback TCP server (asyncio streams) that echoes
every byte and half-closes when its client does. `session_pair` runs a
``server`` session (which opens streams) and a ``client`` session (which
dials real TCP for it) over a given socket pair, and on exit closes both and
awaits their ``run``. `leak_check` snapshots the running asyncio tasks and
the process's open file descriptors, so a test can assert that a tunnel left
nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc

from corral.tunnel import MessageSocket, Session, TunnelMetrics
from corral.tunnel.memory import socket_pair


@dataclass
class EchoServer:
    port: int
    connections: int = 0
    open_now: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)


@contextlib.asynccontextmanager
async def echo_server() -> AsyncIterator[EchoServer]:
    """A loopback TCP server echoing everything; EOF from the client → EOF back."""
    state = EchoServer(port=0)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        state.open_now += 1
        state.writers.append(writer)
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
            writer.write_eof()
            await writer.drain()
        except OSError:
            pass
        finally:
            state.open_now -= 1
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        for writer in state.writers:
            writer.close()
        server.close()
        await server.wait_closed()


async def dial_tcp(host: str, port: int) -> anyio.abc.ByteStream:
    """The acceptor of the tests: a real TCP connection."""
    return await anyio.connect_tcp(host, port)


@dataclass
class Pair:
    server: Session
    client: Session
    tasks: list[asyncio.Task[None]]


@contextlib.asynccontextmanager
async def session_pair(
    sockets: tuple[MessageSocket, MessageSocket] | None = None,
    *,
    metrics: TunnelMetrics | None = None,
    **knobs: Any,
) -> AsyncIterator[Pair]:
    """A running server/client session pair; the client dials real TCP for the server."""
    server_socket, client_socket = sockets or socket_pair()
    metrics = metrics or TunnelMetrics()
    server = Session(server_socket, name="test-server", role="server", metrics=metrics, **knobs)
    client = Session(
        client_socket, name="test-client", role="client", accept=dial_tcp, metrics=metrics, **knobs
    )
    tasks = [asyncio.create_task(server.run()), asyncio.create_task(client.run())]
    try:
        yield Pair(server, client, tasks)
    finally:
        await server.close()
        await client.close()
        await asyncio.gather(*tasks)


def open_fds() -> set[str]:
    """What this process's file descriptors point at now (sockets included)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            found.add(f"{fd}:{os.readlink(f'/proc/self/fd/{fd}')}")
    return found


def socket_fds() -> int:
    return sum(1 for entry in open_fds() if "socket:" in entry)


def other_tasks() -> set[asyncio.Task[Any]]:
    current = asyncio.current_task()
    return {task for task in asyncio.all_tasks() if task is not current}


async def echo_through(session: Session, port: int, payload: bytes) -> bytes:
    """Send ``payload`` to the echo server through ``session``, half-close, read all back."""
    stream = await session.open_stream("127.0.0.1", port)
    async with stream:
        received = bytearray()

        async def reader() -> None:
            with contextlib.suppress(anyio.EndOfStream):
                while True:
                    received.extend(await stream.receive())

        async with anyio.create_task_group() as group:
            group.start_soon(reader)
            await stream.send(payload)
            await stream.send_eof()
    return bytes(received)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def read_forever(stream: anyio.abc.ByteStream) -> None:
    """Read until the stream ends (raising what ends it)."""
    while True:
        await stream.receive()
