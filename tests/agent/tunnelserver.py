"""The management side of agent tunnels on a real TLS port, in-process.

`tunnel_server` serves `AgentTunnels` (the ``/v3/connect*`` WebSocket
routes) and ``/v3/settings/cacerts`` with uvicorn over TLS on a loopback
port, on top of the in-process API (`inprocess_api`: memory backend, admin
rights), with a registration-token lookup the test fills (`FakeTokens`), so
the agent, its registration, the Secret, the Lease and the access source are
real without a whole management server.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from corral.apiserver.asgi import Receive, Scope, Send
from corral.cli.uvicorn_servers import make_server
from corral.management.agenttunnels import AgentTunnels, TunnelOptions
from inprocess import InProcessAPI, inprocess_api

from .tlsrelay import own_tls


@dataclass
class FakeTokens:
    """Registration tokens by value (what `RegistrationTokens` answers)."""

    clusters: dict[str, str] = field(default_factory=dict)

    async def cluster_for_token(self, token: str) -> str | None:
        return self.clusters.get(token)


@dataclass
class TunnelServer:
    url: str
    ca_pem: bytes
    tunnels: AgentTunnels
    tokens: FakeTokens
    api: InProcessAPI

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.ca_pem).hexdigest()


@contextlib.asynccontextmanager
async def tunnel_server(
    directory: Path, *, agent_timeout: float = 3.0
) -> AsyncIterator[TunnelServer]:
    context, ca_pem = own_tls(directory)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"https://127.0.0.1:{sock.getsockname()[1]}"
    options = TunnelOptions(
        replica=url,
        advertise_url=url,
        ca_pem=ca_pem,
        peer_secret="peer",
        agent_timeout=agent_timeout,
    )
    tunnels = AgentTunnels(options)
    routes = tunnels.websocket_routes
    cacerts = orjson.dumps({"type": "setting", "id": "cacerts", "value": ca_pem.decode()})

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await routes[scope["path"]](scope, receive, send)
        elif scope["type"] == "http":
            found = scope["path"] == "/v3/settings/cacerts"
            body = cacerts if found else b"{}"
            headers = [(b"content-type", b"application/json")]
            await send(
                {"type": "http.response.start", "status": 200 if found else 404, "headers": headers}
            )
            await send({"type": "http.response.body", "body": body})

    tokens = FakeTokens()
    async with inprocess_api() as api:
        await tunnels.start(api.client_for("admin"), tokens)
        server = make_server(app, context, 1)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            while not server.started:  # noqa: ASYNC110 (a deadline is the test's timeout)
                await asyncio.sleep(0.01)
            yield TunnelServer(url, ca_pem, tunnels, tokens, api)
        finally:
            await tunnels.stop()
            server.should_exit = True
            await task
            sock.close()
