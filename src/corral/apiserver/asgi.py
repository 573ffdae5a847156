"""The small slice of ASGI the API server needs: a request, a response, sending.

Corral speaks plain ASGI to uvicorn (no web framework), so the request
pipeline stays ours and cheap. A `Request` is read from the ASGI scope
lazily: headers are decoded into a lower-case mapping only when a filter
asks for them, so a health probe never decodes an ``Authorization`` header.
Responses are buffered (`Response`) and sent in one body message, or
streamed (`StreamingResponse`, for watches): chunks are sent as they are
produced, and the producer is cancelled as soon as the client disconnects.
A request body is read only when a handler asks for it (`Request.body`),
bounded by a byte limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from corral.machinery.authn import UserInfo

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Headers every response carries (as kube-apiserver sends them).
COMMON_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"cache-control", b"no-cache, private"),
    (b"x-content-type-options", b"nosniff"),
)


def with_common_headers(
    head: list[tuple[bytes, bytes]], own: list[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """``head``, `COMMON_HEADERS` except those ``own`` sets itself (a cacheable
    file sets its own ``cache-control``), then ``own``."""
    names = {name.lower() for name, _ in own}
    return [*head, *(h for h in COMMON_HEADERS if h[0] not in names), *own]


#: `Request.route` of a request no route matched.
NO_ROUTE = "other"


class Request:
    """One HTTP request as the pipeline sees it."""

    __slots__ = (
        "_headers",
        "_query",
        "impersonator",
        "method",
        "path",
        "public",
        "receive",
        "route",
        "scope",
        "subpath",
        "user",
    )

    def __init__(self, scope: Scope, receive: Receive | None = None) -> None:
        self.scope = scope
        self.receive = receive
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        #: Name of the matched route (a bounded set, used as a metrics label).
        self.route = NO_ROUTE
        #: The matched route is served without credentials (set with ``route``).
        self.public = False
        #: What followed the route's base path (``/readyz/<check>``), if anything.
        self.subpath = ""
        #: The authenticated caller, set by the authentication filter.
        self.user: UserInfo | None = None
        #: The real caller when the request is impersonated (``user`` is then
        #: the impersonated user), set by the impersonation filter.
        self.impersonator: UserInfo | None = None
        self._headers: dict[str, str] | None = None
        self._query: dict[str, list[str]] | None = None

    @property
    def headers(self) -> Mapping[str, str]:
        """Request headers, names lower-case; repeated headers joined with ", "."""
        if self._headers is None:
            headers: dict[str, str] = {}
            for raw_name, raw_value in self.scope["headers"]:
                name = raw_name.decode("latin-1").lower()
                value = raw_value.decode("latin-1")
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            self._headers = headers
        return self._headers

    def drop_headers(self, prefix: str) -> None:
        """Remove every header whose lower-case name starts with ``prefix``."""
        raw = prefix.encode("latin-1")
        self.scope["headers"] = [
            (n, v) for n, v in self.scope["headers"] if not n.lower().startswith(raw)
        ]
        self._headers = None

    @property
    def query(self) -> Mapping[str, list[str]]:
        """Query parameters; a bare ``?verbose`` maps to ``[""]``."""
        if self._query is None:
            raw = self.scope.get("query_string", b"").decode("latin-1")
            self._query = parse_qs(raw, keep_blank_values=True)
        return self._query

    async def body(self, limit: int) -> bytes | None:
        """The whole request body, or None if it exceeds ``limit`` bytes."""
        if self.receive is None:
            return b""
        declared = self.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] != "http.request":
                break
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


@dataclass(slots=True)
class Response:
    """A complete, buffered HTTP response."""

    status: int
    body: bytes = b""
    content_type: bytes = b"text/plain; charset=utf-8"
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


@dataclass(slots=True)
class StreamingResponse:
    """A response whose body is produced over time (a watch): sent chunk by chunk.

    ``chunks`` ends when the stream is complete; it is cancelled when the
    client goes away. ``on_message`` (WebSocket routes only: `Route.websocket`)
    is given each ``websocket.receive`` message of the client, in order; it
    must not raise. Setting ``abandon`` drops the connection at once, even
    while a chunk is being written to a client that does not read.
    """

    status: int
    chunks: AsyncIterator[bytes]
    content_type: bytes = b"application/json"
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    on_message: Callable[[Message], Awaitable[None]] | None = None
    abandon: asyncio.Event | None = None


#: What a handler may return.
AnyResponse = Response | StreamingResponse


async def send_streaming(send: Send, receive: Receive, response: StreamingResponse) -> None:
    """Send ``response``'s chunks until they end or the client disconnects."""
    headers = with_common_headers([(b"content-type", response.content_type)], response.headers)
    await send({"type": "http.response.start", "status": response.status, "headers": headers})

    async def send_chunk(chunk: bytes) -> None:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})

    if await pump_chunks(
        receive, response.chunks, send_chunk, "http.disconnect", abandon=response.abandon
    ):
        with contextlib.suppress(OSError, RuntimeError):
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def pump_chunks(
    receive: Receive,
    chunks: AsyncIterator[bytes],
    send_chunk: Callable[[bytes], Awaitable[None]],
    disconnect: str,
    on_message: Callable[[Message], Awaitable[None]] | None = None,
    abandon: asyncio.Event | None = None,
) -> bool:
    """Send each of ``chunks`` with ``send_chunk`` until they end or a ``disconnect``
    message arrives; then cancel the other and close ``chunks``.

    Any other message from the client goes to ``on_message`` when given (a
    two-way WebSocket), else is dropped (a stream reads nothing more from its
    client). Once ``abandon`` is set, both stop where they are. True if every
    chunk was sent (the caller ends the response), False if the client went,
    sending failed or the stream was abandoned (the caller then just returns,
    and the server closes the connection). Shared by HTTP streaming and
    WebSocket watches.
    """

    async def pump() -> None:
        async for chunk in chunks:
            await send_chunk(chunk)

    async def disconnected() -> None:
        while (message := await receive())["type"] != disconnect:
            if on_message is not None:
                await on_message(message)

    pumping = asyncio.ensure_future(pump())
    watching = asyncio.ensure_future(disconnected())
    tasks: list[asyncio.Future[Any]] = [pumping, watching]
    if abandon is not None:
        tasks.append(asyncio.ensure_future(abandon.wait()))
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(BaseException):
                await aclose()
    return pumping.done() and not pumping.cancelled() and pumping.exception() is None


async def send_response(send: Send, response: Response) -> None:
    """Send ``response`` as one start message and one body message."""
    head = [
        (b"content-type", response.content_type),
        (b"content-length", str(len(response.body)).encode()),
    ]
    headers = with_common_headers(head, response.headers)
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


async def serve_lifespan(receive: Receive, send: Send) -> None:
    """Answer the ASGI lifespan protocol: there is nothing to start or stop here
    (the CLI owns start-up and shutdown), but a server that sends it gets replies."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
