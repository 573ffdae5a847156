"""An agent process-less but real: registration, the Secret, the Lease, the access source.

The management side (`tunnel_server`: the real `AgentTunnels` on a TLS port
over the in-process API) and a real downstream ``corral server
--no-management`` (whose token controller fills the agent's Secret); the
agent is `run_agent` with ``--kubeconfig`` of the downstream. Through the
access source the test speaks HTTPS to the downstream API over the tunnel,
as the agent's service account — and nothing else can be dialed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio.abc
import orjson
import pytest
from anyio.streams.tls import TLSStream
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from corral.agent.agent import AgentOptions, run_agent
from corral.agent.backoff import Backoff
from corral.agent.connection import AgentConnection
from corral.agent.declaration import Declaration
from corral.agent.pinning import pinned_context
from corral.client import Client, ResourceRef
from corral.client.dialing import ClusterAccess, ClusterUnavailable
from corral.client.httptransport import HTTPTransport
from corral.tunnel import TunnelError
from polling import eventually
from serverproc import CorralServer, controller_args, running_server

from .tunnelserver import TunnelServer, tunnel_server

CLUSTER = "c-abcde"
TOKEN = "r" * 54


@pytest.fixture(scope="module")
def downstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorralServer]:
    args = ("--no-management", *controller_args("*"))
    with running_server(tmp_path_factory.mktemp("downstream") / "data", args) as server:
        yield server


@contextlib.asynccontextmanager
async def agent_running(server: TunnelServer, kubeconfig: Path) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    options = AgentOptions(server.url, TOKEN, server.checksum, str(kubeconfig), backoff_scale=0.02)
    task = asyncio.create_task(run_agent(options, stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def http_get(access: ClusterAccess, path: str) -> tuple[int, dict[str, Any]]:
    """GET ``path`` on the cluster's API through ``access`` (TLS end to end, one request)."""
    assert access.dialer is not None
    parts = urlsplit(access.config.server)
    host, port = parts.hostname or "", parts.port or 443
    raw: anyio.abc.ByteStream = await access.dialer.dial(host, port)
    context = ssl.create_default_context(cadata=(access.config.ca_data or b"").decode())
    tls = await TLSStream.wrap(raw, hostname=host, ssl_context=context)
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
        f"Authorization: Bearer {access.config.token}\r\nAccept: application/json\r\n\r\n"
    )
    await tls.send(request.encode())
    data = b""
    with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError, ssl.SSLError):
        while True:
            data += await tls.receive()
    await tls.aclose()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"chunked" in head.lower():
        body = _unchunk(body)
    return status, orjson.loads(body)


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return out


async def secret_of(server: TunnelServer) -> dict[str, Any]:
    answer = await server.api.http.get(f"/api/v1/namespaces/{CLUSTER}/secrets/cluster-agent")
    return answer.json() if answer.status_code == 200 else {}


async def test_agent_registers_and_the_access_source_reaches_its_api(
    tmp_path: Path, downstream: CorralServer
) -> None:
    async with tunnel_server(tmp_path / "mgmt") as server:
        await server.api.http.post("/api/v1/namespaces", json={"metadata": {"name": CLUSTER}})
        server.tokens.clusters[TOKEN] = CLUSTER
        with pytest.raises(ClusterUnavailable, match=f"cluster {CLUSTER}: agent not connected"):
            await server.tunnels.access(CLUSTER)
        async with agent_running(server, downstream.kubeconfig_path):
            await eventually(lambda: server.tunnels.registry.get(CLUSTER), "the agent's session")
            secret = await secret_of(server)
            assert secret["type"] == "corral.io/cluster-agent"
            data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
            assert data["address"] == downstream.https_url
            assert data["token"] != downstream.token  # the service account's, not the admin's
            lease = await server.api.http.get(
                f"/apis/coordination.k8s.io/v1/namespaces/{CLUSTER}/leases/cluster-agent"
            )
            assert lease.json()["spec"]["holderIdentity"] == server.url

            access = await server.tunnels.access(CLUSTER)
            assert await server.tunnels.access(CLUSTER) == access  # a proxy keeps its pool
            status, body = await http_get(access, "/api/v1/namespaces")
            assert status == 200
            assert "corral-system" in [i["metadata"]["name"] for i in body["items"]]
            status, body = await http_get(access, "/api/v1/secrets")  # not granted to the agent
            assert status == 403
            assert "system:serviceaccount:corral-system:corral-agent" in body["message"]

            http_port = urlsplit(downstream.http_url).port or 0
            assert access.dialer is not None
            with pytest.raises((TunnelError, ClusterUnavailable), match="only its cluster's API"):
                await access.dialer.dial("127.0.0.1", http_port)
        await eventually(lambda: server.tunnels.registry.get(CLUSTER) is None, "session gone")
        gone = await server.api.http.get(
            f"/apis/coordination.k8s.io/v1/namespaces/{CLUSTER}/leases/cluster-agent"
        )
        assert gone.status_code == 404  # a clean disconnect releases the Lease
        with pytest.raises(ClusterUnavailable, match="agent not connected"):
            await server.tunnels.access(CLUSTER)
        with pytest.raises(ClusterUnavailable, match="in-process"):
            await server.tunnels.access("local")


async def refused_status(
    url: str, path: str, headers: dict[str, str], source: str = "127.0.0.1"
) -> int:
    context = ssl.create_default_context(cadata=None)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with pytest.raises(InvalidStatus) as caught:
        async with connect(
            url.replace("https", "wss") + path,
            ssl=context,
            additional_headers=headers,
            proxy=None,
            local_addr=(source, 0),
        ):
            pass
    return caught.value.response.status_code


async def test_bad_tokens_are_401_then_429_and_connect_needs_registration(tmp_path: Path) -> None:
    async with tunnel_server(tmp_path / "mgmt") as server:
        server.tokens.clusters[TOKEN] = CLUSTER
        assert await refused_status(server.url, "/v3/connect", {"X-Corral-Token": TOKEN}) == 428
        peer = {"X-Corral-Peer": "not-the-shared-secret"}
        assert await refused_status(server.url, "/v3/connect/peer", peer) == 401
        params = {"X-Corral-Token": TOKEN, "X-Corral-Params": "e30="}  # {}
        assert await refused_status(server.url, "/v3/connect/register", params) == 400
        codes = [
            await refused_status(
                server.url, "/v3/connect/register", {"X-Corral-Token": f"guess{i}"}
            )
            for i in range(7)
        ]
        assert codes[:5] == [401] * 5
        assert codes[-1] == 429  # the address now waits before any token is looked at
        assert await refused_status(server.url, "/v3/connect", {}) == 429
        # Another address is not held up by the guesses from this one.
        other = {"X-Corral-Token": "guess-from-elsewhere"}
        assert await refused_status(server.url, "/v3/connect", other, "127.0.0.2") == 401


async def test_a_client_over_the_access_source_watches_through_the_tunnel(
    tmp_path: Path, downstream: CorralServer
) -> None:
    async with tunnel_server(tmp_path / "mgmt") as server:
        await server.api.http.post("/api/v1/namespaces", json={"metadata": {"name": CLUSTER}})
        server.tokens.clusters[TOKEN] = CLUSTER
        async with agent_running(server, downstream.kubeconfig_path):
            await eventually(lambda: server.tunnels.registry.get(CLUSTER), "the agent's session")
            access = await server.tunnels.access(CLUSTER)
            namespaces = ResourceRef("", "v1", "namespaces", namespaced=False)
            async with Client(HTTPTransport(access.config, dialer=access.dialer)) as client:
                listed = await client.list(namespaces)
                rv = listed["metadata"]["resourceVersion"]
                async with client.watch(namespaces, resource_version=rv) as events:
                    with downstream.client(downstream.token) as admin:
                        made = admin.post(
                            "/api/v1/namespaces", json={"metadata": {"name": "watched"}}
                        )
                        assert made.status_code == 201, made.text
                    async with asyncio.timeout(20):
                        async for kind, obj in events:
                            if obj["metadata"]["name"] == "watched":
                                assert kind == "ADDED"
                                break


async def test_a_refused_token_is_logged_clearly_and_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with tunnel_server(tmp_path / "mgmt") as server:
        pem = server.ca_pem.decode()
        declared = Declaration("https://127.0.0.1:1", pem, "sa-token")
        connection = AgentConnection(
            server.url, "revoked-token", declared, pinned_context(pem), Backoff.scaled(0.002)
        )
        task = asyncio.create_task(connection.run())
        try:
            with caplog.at_level(logging.ERROR, logger="corral.agent"):
                await eventually(
                    lambda: (
                        sum("refused the registration token" in r.message for r in caplog.records)
                        >= 2
                    ),
                    "two refusals, logged",
                )
        finally:
            connection.stop.set()
            await asyncio.wait_for(task, 10)
        assert connection.connections == 0
        assert "revoked-token" not in caplog.text
