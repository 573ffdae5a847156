"""Tunnel throughput: one large stream through `corral.tunnel` over a real loopback WebSocket.

Everything runs in one process on one event loop, as the tightest case (in
production the server and the agent are two processes, each with its own
core): a uvicorn server (wsproto, as `corral server` runs it) accepts the
WebSocket and runs the ``server`` session; a ``websockets`` client (no
per-message deflate) runs the ``client`` (agent) session, whose acceptor
dials real loopback TCP. One stream of ``SIZE`` bytes is carried

- ``server → agent``: the server writes into the stream, the agent pipes it
  to a TCP sink (what ``kubectl apply``/``cp`` to a cluster does);
- ``agent → server``: a TCP source behind the agent streams to the server
  (what ``kubectl get``/``logs`` do);

and the same bytes over a direct loopback TCP connection, in alternating
rounds, so the ratio compares figures taken under the same noise. Goal:
>= 100 MB/s through the tunnel.

uvicorn runs with each WebSocket implementation in turn: ``wsproto`` (what
`corral server` uses today) and ``websockets-sansio``. They differ in one
place that matters here: the server must unmask every byte the client sends
(RFC 6455), which wsproto does in Python (strided ``bytearray.translate``)
and ``websockets`` in C — so the agent → server direction depends on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.abc
import uvicorn
from websockets.asyncio.client import connect

from bench.report import Figure, Run
from corral.tunnel import (
    MAX_MESSAGE,
    Session,
    asgi_message_socket,
    websockets_message_socket,
)

SIZE = 512 * 1024 * 1024
BLOCK = 1024 * 1024
ROUNDS = 3
GOAL_MB_S = 100.0


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


async def _dial(host: str, port: int) -> anyio.abc.ByteStream:
    return await anyio.connect_tcp(host, port)


WS_IMPLEMENTATIONS = ("wsproto", "websockets-sansio")


@contextlib.asynccontextmanager
async def _tunnel(ws: str) -> AsyncIterator[Session]:
    """The server side of a running tunnel over a loopback WebSocket."""
    arrived: asyncio.Queue[Session] = asyncio.Queue()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        session = Session(asgi_message_socket(receive, send), name="bench-server")
        await arrived.put(session)
        await session.run()

    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only
    # then (uvloop, which `corral server` uses, always does); without it Nagle's
    # algorithm and delayed ACKs hold small frames for ~40 ms.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, ws=ws, lifespan="off", log_config=None, log_level=None)
    server = _Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for this
        await asyncio.sleep(0.01)
    conn = await connect(
        f"ws://127.0.0.1:{port}/v3/connect",
        max_size=MAX_MESSAGE,
        compression=None,
        ping_interval=None,
    )
    agent = Session(
        websockets_message_socket(conn), name="bench-agent", role="client", accept=_dial
    )
    agent_run = asyncio.create_task(agent.run())
    session = await arrived.get()
    try:
        yield session
    finally:
        await agent.close()
        await session.close()
        await agent_run
        await conn.close()
        server.should_exit = True
        await serving
        sock.close()


@contextlib.asynccontextmanager
async def _sink() -> AsyncIterator[tuple[int, asyncio.Queue[float]]]:
    """A TCP server reading everything; puts the time it saw EOF on the queue."""
    finished: asyncio.Queue[float] = asyncio.Queue()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(BLOCK):
            pass
        await finished.put(time.perf_counter())
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], finished
    finally:
        server.close()


@contextlib.asynccontextmanager
async def _source(block: bytes) -> AsyncIterator[int]:
    """A TCP server that writes SIZE bytes to each client, then closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(SIZE // len(block)):
            writer.write(block)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def _upload(stream: anyio.abc.ByteStream, block: bytes, done: asyncio.Queue[float]) -> float:
    """MB/s writing SIZE bytes into ``stream`` until the sink has read them all."""
    started = time.perf_counter()
    for _ in range(SIZE // len(block)):
        await stream.send(block)
    await stream.send_eof()
    ended = await done.get()
    await stream.aclose()
    return SIZE / (ended - started) / 1e6


async def _download(stream: anyio.abc.ByteStream) -> float:
    """MB/s reading ``stream`` to its end."""
    started = time.perf_counter()
    total = 0
    with contextlib.suppress(anyio.EndOfStream):
        while True:
            total += len(await stream.receive(BLOCK))
    elapsed = time.perf_counter() - started
    await stream.aclose()
    assert total == SIZE, f"received {total} of {SIZE} bytes"
    return SIZE / elapsed / 1e6


async def _measure() -> dict[str, list[float]]:
    block = os.urandom(BLOCK)
    rounds: dict[str, list[float]] = {}
    async with contextlib.AsyncExitStack() as stack:
        sink_port, done = await stack.enter_async_context(_sink())
        source_port = await stack.enter_async_context(_source(block))
        tunnels = {ws: await stack.enter_async_context(_tunnel(ws)) for ws in WS_IMPLEMENTATIONS}
        for _ in range(ROUNDS):
            for direction in ("up", "down"):
                direct = await anyio.connect_tcp(
                    "127.0.0.1", sink_port if direction == "up" else source_port
                )
                streams: dict[str, anyio.abc.ByteStream] = {"direct": direct}
                for ws, tunnel in tunnels.items():
                    port = sink_port if direction == "up" else source_port
                    streams[ws] = await tunnel.open_stream("127.0.0.1", port)
                for name, stream in streams.items():
                    rate = (
                        await _upload(stream, block, done)
                        if direction == "up"
                        else await _download(stream)
                    )
                    rounds.setdefault(f"{name} {direction}", []).append(rate)
    return rounds


def run(report: Run) -> None:
    rounds = asyncio.run(_measure())
    mib = SIZE // (1024 * 1024)
    for direction, label in (("up", "server → agent"), ("down", "agent → server")):
        direct = rounds[f"direct {direction}"]
        report.add(Figure(f"direct loopback TCP, {mib} MiB, {label}", "MB/s", direct))
        for ws in WS_IMPLEMENTATIONS:
            tunnel = rounds[f"{ws} {direction}"]
            report.add(
                Figure(
                    f"tunnel, {mib} MiB, {label}, uvicorn ws={ws}",
                    "MB/s",
                    tunnel,
                    at_least=GOAL_MB_S,
                )
            )
            ratios = [t / d for t, d in zip(tunnel, direct, strict=True)]
            report.add(Figure(f"tunnel / direct, {label}, ws={ws}", "ratio", ratios))
    report.notes.append(
        "One process, one event loop: the uvicorn server with the server session, the "
        "`websockets` client (no per-message deflate) with the agent session, and the TCP "
        "sink/source all share one core; in production the server and the agent are separate "
        "processes. Frames of 128 KiB, a 4 MiB window per stream. The machine (2 cores) is "
        "shared with other sessions' work, so single rounds swing widely; medians of 3 rounds."
    )
