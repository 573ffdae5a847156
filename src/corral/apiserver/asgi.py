"""The small slice of ASGI the API server needs: a request, a response, sending.

Corral speaks plain ASGI to uvicorn (no web framework), so the request
pipeline stays ours and cheap. A `Request` is read from the ASGI scope
lazily: headers are decoded into a lower-case mapping only when a filter
asks for them, so a health probe never decodes an ``Authorization`` header.
Responses are buffered (`Response`) and sent in one body message; streaming
responses (watch, logs) will add their own type when they arrive.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
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


#: `Request.route` of a request no route matched.
NO_ROUTE = "other"


class Request:
    """One HTTP request as the pipeline sees it."""

    __slots__ = ("_headers", "_query", "method", "path", "route", "scope", "subpath", "user")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        #: Name of the matched route (a bounded set, used as a metrics label).
        self.route = NO_ROUTE
        #: What followed the route's base path (``/readyz/<check>``), if anything.
        self.subpath = ""
        #: The authenticated caller, set by the authentication filter.
        self.user: UserInfo | None = None
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

    @property
    def query(self) -> Mapping[str, list[str]]:
        """Query parameters; a bare ``?verbose`` maps to ``[""]``."""
        if self._query is None:
            raw = self.scope.get("query_string", b"").decode("latin-1")
            self._query = parse_qs(raw, keep_blank_values=True)
        return self._query


@dataclass(slots=True)
class Response:
    """A complete, buffered HTTP response."""

    status: int
    body: bytes = b""
    content_type: bytes = b"text/plain; charset=utf-8"
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


async def send_response(send: Send, response: Response) -> None:
    """Send ``response`` as one start message and one body message."""
    headers = [
        (b"content-type", response.content_type),
        (b"content-length", str(len(response.body)).encode()),
        *COMMON_HEADERS,
        *response.headers,
    ]
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
