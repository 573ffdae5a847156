"""WebSocket upgrades through the proxy: exec, attach, port-forward, watches.

The upstream request is made first, on a connection of its own (not the
pool's: the socket belongs to the WebSocket until it closes), with the
upgrade headers (a fresh ``Sec-WebSocket-Key``; the client's
``Sec-WebSocket-Protocol`` offer passed through, minus Kubernetes' bearer
subprotocol, which carries the client's Corral token). Only when the
cluster answers 101 with the matching ``Sec-WebSocket-Accept`` is the
client's upgrade accepted, with the subprotocol the cluster chose; any
other answer is returned to the client as an HTTP answer (its status and
body) and the upstream connection closed.

Once both sides are open, messages are relayed: ASGI hands whole messages
(text or bytes), the cluster speaks raw WebSocket frames over the upgraded
stream, which wsproto (client side: masked frames) encodes and decodes;
fragmented messages are reassembled, pings answered, and a close from
either side closes the other with its code.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
from typing import Any

import httpcore
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage

from corral.apiserver.asgi import AnyResponse, Receive, Response, Send, WebSocketRelay
from corral.machinery.status import StatusError
from corral.proxy.forward import host_header, timeouts, unreachable
from corral.proxy.headers import Headers, incoming

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_BEARER_PROTOCOL = "base64url.bearer.authorization.k8s.io."
#: Bytes of a refused upgrade's body relayed to the client.
_REFUSAL_LIMIT = 64 * 1024
_READ_SIZE = 64 * 1024


def offered_protocols(subprotocols: list[str]) -> list[str]:
    """The client's subprotocols that go upstream (never the one carrying its token)."""
    return [p for p in subprotocols if not p.startswith(_BEARER_PROTOCOL)]


def _accept_value(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key + _GUID).digest())  # noqa: S324 (RFC 6455)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((v for n, v in headers if n.lower() == name), None)


async def open_relay(
    connection: httpcore.AsyncHTTPConnection,
    cluster: str,
    url: httpcore.URL,
    headers: Headers,
    subprotocols: list[str],
) -> AnyResponse:
    """Upgrade upstream; a `WebSocketRelay` on 101, else the cluster's answer."""
    key = base64.b64encode(os.urandom(16))
    upgrade = [
        (b"connection", b"Upgrade"),
        (b"upgrade", b"websocket"),
        (b"sec-websocket-version", b"13"),
        (b"sec-websocket-key", key),
    ]
    offered = offered_protocols(subprotocols)
    if offered:
        upgrade.append((b"sec-websocket-protocol", ", ".join(offered).encode()))
    request = httpcore.Request(
        b"GET",
        url,
        headers=[host_header(url), *headers, *upgrade],
        extensions={"timeout": timeouts(True)},
    )
    try:
        response = await connection.handle_async_request(request)
    except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as exc:
        await connection.aclose()
        raise unreachable(cluster, exc) from None
    if response.status != 101:
        try:
            return await _refused(response, cluster)
        finally:
            await connection.aclose()
    stream: httpcore.AsyncNetworkStream = response.extensions["network_stream"]
    if _header(response.headers, b"sec-websocket-accept") != _accept_value(key):
        with contextlib.suppress(Exception):
            await response.aclose()
            await connection.aclose()
        raise StatusError(
            f"cluster {cluster} answered the upgrade without a valid Sec-WebSocket-Accept",
            code=502,
            reason="BadGateway",
        )
    chosen = _header(response.headers, b"sec-websocket-protocol")
    protocol = chosen.decode("latin-1") if chosen else None
    if protocol is not None and protocol not in offered:
        protocol = None

    async def relay(receive: Receive, send: Send) -> None:
        try:
            await _relay(stream, receive, send)
        finally:
            with contextlib.suppress(Exception):
                await response.aclose()
                await connection.aclose()

    return WebSocketRelay(101, subprotocol=protocol, relay=relay)


async def _refused(response: httpcore.Response, cluster: str) -> Response:
    """The cluster's non-101 answer, for the client as an HTTP answer."""
    body = b""
    try:
        async for chunk in response.aiter_stream():
            body += chunk
            if len(body) >= _REFUSAL_LIMIT:
                break
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.TimeoutException):
        pass
    finally:
        with contextlib.suppress(Exception):
            await response.aclose()
    kept = [
        (n, v)
        for n, v in incoming(response.headers, service_proxy=False)
        if n not in (b"content-type", b"content-length")
    ]
    content_type = _header(response.headers, b"content-type") or b"application/octet-stream"
    if response.status < 300:  # answered, but did not switch protocols: not relayable
        raise StatusError(
            f"cluster {cluster} did not switch protocols (answered {response.status})",
            code=502,
            reason="BadGateway",
        )
    return Response(response.status, body[:_REFUSAL_LIMIT], content_type, kept)


async def _relay(stream: httpcore.AsyncNetworkStream, receive: Receive, send: Send) -> None:
    """Relay messages both ways until either side closes."""
    ws = Connection(ConnectionType.CLIENT)
    write_lock = asyncio.Lock()

    async def write(event: Any) -> None:
        async with write_lock:
            await stream.write(ws.send(event))

    async def client_to_cluster() -> None:
        while True:
            message = await receive()
            if message["type"] == "websocket.receive":
                if message.get("bytes") is not None:
                    await write(BytesMessage(data=message["bytes"]))
                else:
                    await write(TextMessage(data=message.get("text") or ""))
            elif message["type"] == "websocket.disconnect":
                with contextlib.suppress(Exception):
                    await write(CloseConnection(code=message.get("code", 1000) or 1000))
                return

    async def cluster_to_client() -> None:
        text_parts: list[str] = []
        byte_parts: list[bytes] = []
        while True:
            data = await stream.read(_READ_SIZE)
            if not data:
                await send({"type": "websocket.close", "code": 1006})
                return
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, TextMessage):
                    text_parts.append(event.data)
                    if event.message_finished:
                        await send({"type": "websocket.send", "text": "".join(text_parts)})
                        text_parts.clear()
                elif isinstance(event, BytesMessage):
                    byte_parts.append(bytes(event.data))
                    if event.message_finished:
                        await send({"type": "websocket.send", "bytes": b"".join(byte_parts)})
                        byte_parts.clear()
                elif isinstance(event, Ping):
                    await write(event.response())
                elif isinstance(event, CloseConnection):
                    with contextlib.suppress(Exception):
                        await write(event.response())
                    code = event.code if event.code not in (1005, 1006) else 1000
                    await send({"type": "websocket.close", "code": code, "reason": event.reason})
                    return

    tasks = [
        asyncio.ensure_future(client_to_cluster()),
        asyncio.ensure_future(cluster_to_client()),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        with contextlib.suppress(Exception):
            await stream.aclose()
