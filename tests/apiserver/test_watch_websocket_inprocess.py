"""Watches over WebSocket at the ASGI level (memory backend, no uvicorn).

Drives the apps with ``websocket`` scopes as uvicorn would send them: what
is refused before the handshake (and how), what the accepted socket
carries, and that a client going away ends its watch.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from corral.apiserver import APIServerApp, HealthChecks, HTTPMetrics, build_kube_api
from corral.apiserver.asgi import Message, Request
from corral.apiserver.http_app import HTTPRedirectApp
from corral.apiserver.inflight import is_long_running
from corral.auth import BootstrapTokenAuthenticator
from corral.storage import MemoryBackend

TOKEN = "ws-in-process-token"
CMS = "/api/v1/namespaces/default/configmaps"
WAIT = 5.0


class Socket:
    """One WebSocket connection to an ASGI app: what the app sent, and the client's side."""

    def __init__(self, app: Any, path: str, query: str = "", **options: Any) -> None:
        headers = [(b"host", b"testserver")]
        token = options.get("token", TOKEN)
        if token:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        self.scope = {
            "type": "websocket",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": headers,
            "subprotocols": options.get("subprotocols", []),
            "extensions": {} if options.get("bare") else {"websocket.http.response": {}},
        }
        self.incoming: asyncio.Queue[Message] = asyncio.Queue()
        self.sent: asyncio.Queue[Message] = asyncio.Queue()
        self.incoming.put_nowait({"type": "websocket.connect"})
        self.task = asyncio.create_task(app(self.scope, self.incoming.get, self._send))

    async def _send(self, message: Message) -> None:
        await self.sent.put(message)

    async def next(self) -> Message:
        return await asyncio.wait_for(self.sent.get(), WAIT)

    async def refusal(self) -> tuple[int, dict[str, Any]]:
        start = await self.next()
        assert start["type"] == "websocket.http.response.start"
        body = await self.next()
        await asyncio.wait_for(self.task, WAIT)
        return start["status"], orjson.loads(body["body"])

    async def disconnect(self) -> None:
        await self.incoming.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(self.task, WAIT)


@pytest.fixture
async def parts() -> AsyncIterator[tuple[APIServerApp, HTTPMetrics, httpx.AsyncClient]]:
    backend = MemoryBackend()
    await backend.start()
    health = HealthChecks()
    kube = await build_kube_api(backend, health)
    metrics = HTTPMetrics()
    app = APIServerApp(
        authenticator=BootstrapTokenAuthenticator(hashlib.sha256(TOKEN.encode()).hexdigest()),
        health=health,
        metrics=metrics,
        api=kube.api,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="https://testserver",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield app, metrics, client
    await kube.stop()
    await backend.close()


def open_watches(metrics: HTTPMetrics) -> float:
    value = metrics.registry.get_sample_value(
        "corral_http_long_running_requests", {"path_class": "api", "transport": "websocket"}
    )
    return value or 0.0


async def test_events_are_text_messages_and_disconnect_ends_the_watch(
    parts: tuple[APIServerApp, HTTPMetrics, httpx.AsyncClient],
) -> None:
    app, metrics, client = parts
    created = await client.post(CMS, json={"metadata": {"name": "a"}})
    assert created.status_code == 201
    ws = Socket(app, CMS, "watch=true")
    accept = await ws.next()
    assert accept["type"] == "websocket.accept"
    assert accept["subprotocol"] is None
    first = await ws.next()
    assert first["type"] == "websocket.send"
    assert first["text"].endswith("\n")
    assert orjson.loads(first["text"])["type"] == "ADDED"
    assert open_watches(metrics) == 1
    await ws.disconnect()
    assert open_watches(metrics) == 0


async def test_refusals_carry_a_status(
    parts: tuple[APIServerApp, HTTPMetrics, httpx.AsyncClient],
) -> None:
    app, _, _ = parts
    status, body = await Socket(app, CMS, "watch=true", token="").refusal()
    assert (status, body["reason"]) == (401, "Unauthorized")
    status, body = await Socket(app, CMS).refusal()
    assert (status, body["reason"]) == (400, "BadRequest")
    status, body = await Socket(app, "/readyz").refusal()
    assert status == 400
    status, body = await Socket(app, "/api/v1/nothings", "watch=true").refusal()
    assert (status, body["reason"]) == (404, "NotFound")
    bad_bearer = ["base64url.bearer.authorization.k8s.io.%%%"]
    status, body = await Socket(app, CMS, "watch=1", token="", subprotocols=bad_bearer).refusal()
    assert status == 401


async def test_without_the_response_extension_a_refusal_is_a_close(
    parts: tuple[APIServerApp, HTTPMetrics, httpx.AsyncClient],
) -> None:
    app, _, _ = parts
    ws = Socket(app, CMS, "watch=true", token="", bare=True)
    assert (await ws.next())["type"] == "websocket.close"
    await asyncio.wait_for(ws.task, WAIT)


async def test_binary_framings_and_bearer_protocol(
    parts: tuple[APIServerApp, HTTPMetrics, httpx.AsyncClient],
) -> None:
    app, _, client = parts
    await client.post(CMS, json={"metadata": {"name": "b"}})
    bearer = "base64url.bearer.authorization.k8s.io." + base64.urlsafe_b64encode(
        TOKEN.encode()
    ).decode().rstrip("=")
    ws = Socket(app, CMS, "watch=true", token="", subprotocols=[bearer, "binary.k8s.io"])
    assert (await ws.next())["subprotocol"] == "binary.k8s.io"
    assert orjson.loads((await ws.next())["bytes"])["object"]["metadata"]["name"] == "b"
    await ws.disconnect()
    ws = Socket(app, CMS, "watch=true", subprotocols=["x", "base64.binary.k8s.io"])
    assert (await ws.next())["subprotocol"] == "base64.binary.k8s.io"
    text = (await ws.next())["text"]
    assert orjson.loads(base64.b64decode(text))["type"] == "ADDED"
    await ws.disconnect()


async def test_timeout_closes_normally(
    parts: tuple[APIServerApp, HTTPMetrics, httpx.AsyncClient],
) -> None:
    app, metrics, _ = parts
    ws = Socket(app, CMS, "watch=true&timeoutSeconds=1")
    assert (await ws.next())["type"] == "websocket.accept"
    closed = await ws.next()
    assert closed == {"type": "websocket.close", "code": 1000}
    await asyncio.wait_for(ws.task, WAIT)
    assert open_watches(metrics) == 0


def test_websockets_are_long_running() -> None:
    scope = {"type": "websocket", "method": "GET", "path": "/api/v1/pods", "headers": []}
    assert is_long_running(Request(scope))


async def test_plain_http_port_redirects_websockets() -> None:
    app = HTTPRedirectApp(
        health=HealthChecks(), metrics=HTTPMetrics(), https_port=8443, default_host="corral"
    )
    ws = Socket(app, CMS, "watch=true")
    start = await ws.next()
    assert start["status"] == 308
    headers = dict(start["headers"])
    assert headers[b"location"] == b"https://testserver:8443" + CMS.encode() + b"?watch=true"
