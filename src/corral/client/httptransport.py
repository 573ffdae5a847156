"""`HTTPTransport`: the `Transport` to any Kubernetes API server over HTTP(S), on httpx.

It decides the wire details the client does not care about: one pooled
``httpx.AsyncClient`` per transport, TLS and credentials from a
`ClusterConfig` (the Authorization header is computed per request, so a
rotated token file is picked up), the SNI/verification name override
(``tls-server-name``), timeouts (``timeout`` for connecting and for each
read of an ordinary request; no read timeout on a stream, whose length the
server bounds with ``timeoutSeconds``), and the translation of httpx's
exceptions into the builtin ``ConnectionError``/``TimeoutError`` family the
`Transport` protocol promises (as `ConnectionFailed`/`RequestTimeout`), except
a failed TLS handshake, which is a `TLSError` so that it is not retried.

With a ``dialer`` (`corral.client.dialing`), connections are opened by it
instead of by TCP from here (a cluster behind its agent's tunnel): the pool
is httpcore's over `DialerBackend`, TLS negotiated end to end over the
dialed stream against the config's CA and server name, idle connections
kept `KEEPALIVE_EXPIRY` seconds.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpcore
import httpx

from corral.client.config import ClusterConfig
from corral.client.credentials import Authorizer, ssl_context
from corral.client.dialing import Dialer
from corral.client.dialnet import KEEPALIVE_EXPIRY, DialerBackend
from corral.client.errors import ConnectionFailed, RequestTimeout, TLSError
from corral.client.transport import DEFAULT_TIMEOUT, Query, SimpleResponse


def _translate(exc: httpx.HTTPError, method: str, path: str) -> Exception:
    """httpx's failure as the protocol's builtin-derived error (never leaks httpx)."""
    what = f"{method} {path}"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return TLSError(f"{what}: TLS handshake failed: {cause}")
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeout(f"{what}: timed out ({type(exc).__name__})")
    return ConnectionFailed(f"{what}: {type(exc).__name__}: {exc}")


class _Stream:
    """An httpx streaming response seen through the `StreamResponse` protocol."""

    def __init__(self, response: httpx.Response, method: str, path: str) -> None:
        self._response = response
        self._what = (method, path)
        self.status = response.status_code
        self.headers: Mapping[str, str] = {k.lower(): v for k, v in response.headers.items()}

    async def read(self) -> bytes:
        try:
            return await self._response.aread()
        except httpx.HTTPError as exc:
            raise _translate(exc, *self._what) from None

    async def lines(self) -> AsyncIterator[bytes]:
        buffer = b""
        try:
            async for chunk in self._response.aiter_raw():
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                for line in complete:
                    yield line
        except httpx.HTTPError as exc:
            raise _translate(exc, *self._what) from None
        if buffer:
            yield buffer


def _dialed_transport(verify: ssl.SSLContext | bool, dialer: Dialer) -> httpx.AsyncHTTPTransport:
    """httpx's transport whose connection pool dials through ``dialer``.

    httpx offers no network-backend option, so its pool is replaced by an
    equivalent httpcore pool over `DialerBackend` (httpx maps that pool's
    exceptions and requests exactly as for its own).
    """
    transport = httpx.AsyncHTTPTransport(verify=verify, trust_env=False)
    context = verify if isinstance(verify, ssl.SSLContext) else None
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=context,
        keepalive_expiry=KEEPALIVE_EXPIRY,
        network_backend=DialerBackend(dialer),
    )
    return transport


class HTTPTransport:
    """Requests to the API server ``config`` describes, over one connection pool."""

    def __init__(
        self,
        config: ClusterConfig,
        dialer: Dialer | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        user_agent: str = "corral-client",
    ) -> None:
        self.config = config
        self._auth = Authorizer(config)
        self._timeout = timeout
        self._extensions: dict[str, Any] = {}
        if config.tls_server_name:
            self._extensions["sni_hostname"] = config.tls_server_name
        verify = ssl_context(config) if config.server.startswith("https:") else False
        self._client = httpx.AsyncClient(
            base_url=config.server,
            verify=verify,
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": user_agent},
            trust_env=False,
            transport=None if dialer is None else _dialed_transport(verify, dialer),
        )

    def _build(
        self,
        method: str,
        path: str,
        query: Query,
        headers: Mapping[str, str] | None,
        body: bytes | None,
        timeout: httpx.Timeout,
    ) -> httpx.Request:
        all_headers = dict(headers or {})
        auth = self._auth.header()
        if auth:
            all_headers["Authorization"] = auth
        return self._client.build_request(
            method,
            path,
            params=list(query),
            headers=all_headers,
            content=body,
            timeout=timeout,
            extensions=self._extensions,
        )

    async def request(
        self,
        method: str,
        path: str,
        query: Query = (),
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> SimpleResponse:
        req = self._build(method, path, query, headers, body, httpx.Timeout(self._timeout))
        try:
            response = await self._client.send(req)
        except httpx.HTTPError as exc:
            raise _translate(exc, method, path) from None
        lowered = {k.lower(): v for k, v in response.headers.items()}
        return SimpleResponse(response.status_code, response.content, lowered)

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        query: Query = (),
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[_Stream]:
        timeout = httpx.Timeout(self._timeout, read=None)
        req = self._build(method, path, query, headers, None, timeout)
        try:
            response = await self._client.send(req, stream=True)
        except httpx.HTTPError as exc:
            raise _translate(exc, method, path) from None
        try:
            yield _Stream(response, method, path)
        finally:
            with contextlib.suppress(httpx.HTTPError):
                await response.aclose()

    async def close(self) -> None:
        await self._client.aclose()
