"""Watches over WebSocket: the same watch, one event per WebSocket message.

Kubernetes serves ``GET …?watch=true`` also as a WebSocket upgrade (browsers,
and clients that prefer it). Corral does the same, reusing everything the
HTTP watch has; what this module decides:

- **Same pipeline.** The upgrade request passes the HTTPS filters
  (authentication, then the in-flight limit, which counts it as
  long-running) and reaches the same watch handler with the same query
  parameters. Only watches are upgraded (``?watch=true|1`` or a legacy
  ``/watch/`` path under ``/api`` or ``/apis``); anything else is refused
  with 400. A refusal happens before the handshake, as an HTTP answer with
  the ``Status`` (ASGI's ``websocket.http.response`` extension; a bare 403
  from the server where the extension is missing).
- **Credentials.** The ``Authorization`` header, cookies, as over HTTP; and,
  for browsers that cannot set headers, the subprotocol
  ``base64url.bearer.authorization.k8s.io.<base64url token>`` as Kubernetes
  accepts it. That protocol is never chosen for the answer.
- **Framing.** Each watch event (the JSON line of the chunked stream,
  newline included, as Kubernetes' encoder writes it) is one message: a
  text frame by default (Kubernetes' framing for JSON). A client offering
  ``binary.k8s.io`` gets binary frames, ``base64.binary.k8s.io`` each
  message base64-encoded in a text frame; the first of those in the
  client's list wins and is named in the handshake answer.
- **End.** When the watch ends (timeoutSeconds, shutdown, a watcher that
  fell behind, an expired resourceVersion after its one ERROR event) the
  socket is closed with 1000. Messages from the client are ignored (as
  Kubernetes does); when it goes away the watch is stopped and its watcher
  freed.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from corral.apiserver.asgi import (
    COMMON_HEADERS,
    AnyResponse,
    Message,
    Receive,
    Request,
    Response,
    Scope,
    Send,
    StreamingResponse,
    WebSocketRelay,
    pump_chunks,
)
from corral.apiserver.inflight import is_watch
from corral.apiserver.metrics import HTTPMetrics
from corral.apiserver.pipeline import Handler, Router
from corral.apiserver.responses import status_response
from corral.machinery.status import BadRequest, InternalError, StatusError, UnauthorizedError

log = logging.getLogger("corral.apiserver")

BINARY_PROTOCOL = "binary.k8s.io"
BASE64_PROTOCOL = "base64.binary.k8s.io"
BEARER_PROTOCOL_PREFIX = "base64url.bearer.authorization.k8s.io."
_FRAMINGS = (BINARY_PROTOCOL, BASE64_PROTOCOL)
_HTTP_RESPONSE_EXTENSION = "websocket.http.response"
#: WebSocket close code of a watch that ended normally.
NORMAL_CLOSURE = 1000
#: Close code sent instead of an HTTP refusal when the server cannot send one.
POLICY_VIOLATION = 1008
WATCHES_ONLY = "only watch requests (?watch=true) of the Kubernetes API are served over WebSocket"


@dataclass(frozen=True, slots=True)
class Framing:
    """How watch events become WebSocket messages; ``subprotocol`` as answered."""

    subprotocol: str | None = None

    def message(self, chunk: bytes) -> Message:
        if self.subprotocol == BINARY_PROTOCOL:
            return {"type": "websocket.send", "bytes": chunk}
        if self.subprotocol == BASE64_PROTOCOL:
            return {"type": "websocket.send", "text": base64.b64encode(chunk).decode("ascii")}
        return {"type": "websocket.send", "text": chunk.decode("utf-8")}


def choose_framing(offered: Sequence[str]) -> Framing:
    """The first framing subprotocol the client offers, else plain text frames."""
    for protocol in offered:
        if protocol in _FRAMINGS:
            return Framing(protocol)
    return Framing()


def bearer_token(offered: Sequence[str]) -> str | None:
    """The token carried in a ``base64url.bearer.authorization.k8s.io.`` subprotocol.

    401 if the protocol is there but its token does not decode.
    """
    for protocol in offered:
        if protocol.startswith(BEARER_PROTOCOL_PREFIX):
            encoded = protocol[len(BEARER_PROTOCOL_PREFIX) :]
            try:
                token = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
                return token.decode("utf-8") or None
            except (binascii.Error, ValueError):
                raise UnauthorizedError() from None
    return None


def request_of(scope: Scope) -> Request:
    """The upgrade request as the HTTP pipeline sees it (a GET).

    A bearer subprotocol becomes an ``Authorization`` header when the
    request has none, so authentication is exactly that of HTTP.
    """
    headers = list(scope.get("headers", []))
    offered = list(scope.get("subprotocols") or [])
    token = bearer_token(offered)
    if token is not None and not any(name.lower() == b"authorization" for name, _ in headers):
        headers.append((b"authorization", f"Bearer {token}".encode("latin-1")))
    return Request({**scope, "method": "GET", "headers": headers})


def watches_only(dispatch: Handler, routes: frozenset[str], router: Router) -> Handler:
    """``dispatch`` for watch requests on ``routes`` and for routes that serve
    WebSockets themselves (`Route.websocket`); 400 for anything else."""

    async def run(request: Request) -> AnyResponse:
        if router.serves_websocket(request.route):
            return await dispatch(request)
        if request.route not in routes or not is_watch(request):
            raise BadRequest(WATCHES_ONLY)
        return await dispatch(request)

    return run


async def serve_websocket(
    scope: Scope,
    receive: Receive,
    send: Send,
    router: Router,
    handler: Handler,
    metrics: HTTPMetrics,
) -> None:
    """Answer one WebSocket upgrade: refuse it, or accept it and stream the watch."""
    started = time.perf_counter()
    if (await receive())["type"] != "websocket.connect":
        return
    route = "other"
    try:
        request = request_of(scope)
        router.match(request)
        route = request.route
        response: AnyResponse = await handler(request)
    except StatusError as exc:
        response = status_response(exc)
    except Exception:
        log.exception("websocket request failed", extra={"route": route})
        response = status_response(InternalError("unexpected server error; see the server log"))
    if isinstance(response, WebSocketRelay) and response.relay is not None:
        await send(
            {
                "type": "websocket.accept",
                "subprotocol": response.subprotocol,
                "headers": response.headers,
            }
        )
        metrics.observe("GET", route, 101, 0.0)
        with metrics.long_running(route, "websocket"):
            await response.relay(receive, send)
        return
    if not isinstance(response, StreamingResponse):
        if response.status < 300:
            response = status_response(BadRequest(WATCHES_ONLY))
        await refuse(scope, send, response)
        metrics.observe("GET", route, response.status, time.perf_counter() - started)
        return
    framing = choose_framing(scope.get("subprotocols") or [])
    metrics.observe("GET", route, 101, 0.0)
    with metrics.long_running(route, "websocket"):
        await _stream(send, receive, response, framing)


async def refuse(scope: Scope, send: Send, response: Response) -> None:
    """Answer the upgrade with ``response`` instead of accepting it."""
    extensions = scope.get("extensions") or {}
    if _HTTP_RESPONSE_EXTENSION not in extensions:
        await send({"type": "websocket.close", "code": POLICY_VIOLATION})
        return
    headers = [
        (b"content-type", response.content_type),
        (b"content-length", str(len(response.body)).encode()),
        *COMMON_HEADERS,
        *response.headers,
    ]
    await send(
        {"type": "websocket.http.response.start", "status": response.status, "headers": headers}
    )
    await send({"type": "websocket.http.response.body", "body": response.body})


async def _stream(
    send: Send, receive: Receive, response: StreamingResponse, framing: Framing
) -> None:
    """Accept, send every chunk as one message, close when the watch ends."""
    await send(
        {
            "type": "websocket.accept",
            "subprotocol": framing.subprotocol,
            "headers": [(b"content-type", response.content_type), *COMMON_HEADERS],
        }
    )

    async def send_chunk(chunk: bytes) -> None:
        await send(framing.message(chunk))

    done = await pump_chunks(
        receive,
        response.chunks,
        send_chunk,
        "websocket.disconnect",
        response.on_message,
        response.abandon,
    )
    if done:
        with contextlib.suppress(OSError, RuntimeError):
            await send({"type": "websocket.close", "code": NORMAL_CLOSURE})
