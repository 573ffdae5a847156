"""A tunnel over a real loopback WebSocket: uvicorn serves, the ``websockets`` client dials.

The server side is an ASGI app under uvicorn (wsproto, as `corral server`
runs it) that accepts the upgrade and runs a ``server`` session over
`asgi_message_socket`; the client side is a ``websockets`` connection
running a ``client`` session over `websockets_message_socket` that dials real
TCP for the server. `websocket_tunnel` yields both sessions once connected,
and on exit closes them and stops uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from corral.tunnel import (
    MAX_MESSAGE,
    Session,
    asgi_message_socket,
    websockets_message_socket,
)
from polling import eventually

from .helpers import dial_tcp


@dataclass
class WebSocketTunnel:
    server: Session
    client: Session
    connection: ClientConnection
    port: int


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


@contextlib.asynccontextmanager
async def websocket_tunnel(**knobs: Any) -> AsyncIterator[WebSocketTunnel]:
    sessions: asyncio.Queue[Session] = asyncio.Queue()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        session = Session(asgi_message_socket(receive, send), name="ws-server", **knobs)
        await sessions.put(session)
        await session.run()

    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only
    # then (uvloop, which `corral server` uses, always does); without it Nagle's
    # algorithm and delayed ACKs hold small frames for ~40 ms.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, ws="wsproto", lifespan="off", log_config=None, log_level=None)
    server = _Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(lambda: server.started, "uvicorn starts")
        connection = await connect(
            f"ws://127.0.0.1:{port}/connect",
            max_size=MAX_MESSAGE,
            ping_interval=None,
            compression=None,
        )
        client = Session(
            websockets_message_socket(connection),
            name="ws-client",
            role="client",
            accept=dial_tcp,
            **knobs,
        )
        client_run = asyncio.create_task(client.run())
        server_session = await asyncio.wait_for(sessions.get(), 10)
        try:
            yield WebSocketTunnel(server_session, client, connection, port)
        finally:
            await client.close()
            await server_session.close()
            await client_run
            await connection.close()
    finally:
        server.should_exit = True
        await serving
        sock.close()
