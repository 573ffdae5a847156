"""The seam between `Client` and the wire: one request, one answer; or one stream.

The client speaks Kubernetes REST semantics (paths, query parameters, status
codes, ``Status`` bodies) and nothing else; how a request reaches an API
server is a transport's business. `HTTPTransport` sends it over HTTPS to any
cluster; an in-process loopback transport (in ``corral.apiserver``, DESIGN
§2) will hand it to the ASGI app directly. That transport must not import
this package, so the protocol uses only builtin types and is satisfied
structurally:

- ``request`` returns an object with ``status`` (int), ``headers``
  (mapping, lower-case names) and ``body`` (bytes): a whole answer.
- ``stream`` is an async context manager yielding an object with ``status``,
  ``headers``, ``read()`` (the whole body, for failed answers) and
  ``lines()`` (newline-separated chunks of the body as they arrive, for
  watches).
- Failures to get an answer are raised as the builtin ``ConnectionError``
  (could not connect, connection dropped) or ``TimeoutError``; any HTTP
  status, including 4xx/5xx, is an answer, not an exception.

``query`` is a sequence of (name, value) pairs so that a name may repeat;
``body`` is already encoded, with its Content-Type in ``headers``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

Query = Sequence[tuple[str, str]]


#: Seconds a request may take over HTTP unless the caller says otherwise.
DEFAULT_TIMEOUT = 30.0


class Response(Protocol):
    """A complete answer."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def body(self) -> bytes: ...


class StreamResponse(Protocol):
    """An answer whose body is still arriving."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    async def read(self) -> bytes:
        """The rest of the body, at once."""
        ...

    def lines(self) -> AsyncIterator[bytes]:
        """The body, one line at a time (without the newline), as it arrives."""
        ...


class Transport(Protocol):
    """Carries requests to one API server."""

    async def request(
        self,
        method: str,
        path: str,
        query: Query = (),
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        """Send one request and read its whole answer."""
        ...

    def stream(
        self,
        method: str,
        path: str,
        query: Query = (),
        headers: Mapping[str, str] | None = None,
    ) -> AbstractAsyncContextManager[StreamResponse]:
        """Send one request and hand over its answer while the body streams in."""
        ...

    async def close(self) -> None:
        """Release connections; the transport is not used afterwards."""
        ...


@dataclass(frozen=True, slots=True)
class SimpleResponse:
    """A plain `Response`, for transports and tests that build answers themselves."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
