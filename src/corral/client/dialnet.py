"""HTTP over a `Dialer`: the httpcore network backend whose connections a dialer opens.

httpcore (under httpx, and used directly by the cluster proxy) asks its
network backend for a TCP connection and then for TLS over it. For a
cluster behind a tunnel, "TCP" is a stream the `Dialer` opens through the
agent; this module adapts one to the other, so the same keep-alive pools
serve direct and tunnelled clusters. What it decides:

- **TLS end to end.** ``start_tls`` wraps the dialed stream with anyio's
  `TLSStream`, verifying the certificate against the context httpcore hands
  it (built from the cluster's ``ca_data``) and the server name (the URL's
  host, or ``tls-server-name``): the tunnel carries only ciphertext, and a
  relay in the middle cannot read or forge the downstream API's answers.
- **Errors.** What the stream raises while reading, writing or handshaking
  becomes httpcore's own exception family (so httpx and the proxy report it
  as a transport failure); `ClusterUnavailable` from the dialer passes
  unchanged, its message saying why.
- **Pool hygiene.** ``is_readable`` (httpcore's check, before each reuse,
  that an idle keep-alive connection was not closed by the server) polls
  the socket when the stream has one (looked up once per connection: anyio
  builds its attribute map on every lookup); a tunnel stream has none, so
  the pools that use this backend also expire idle connections before the
  API server would (`KEEPALIVE_EXPIRY`).
- **Direct connections** use the same backend with `TCPDialer`, so a
  cluster reached without a tunnel gets the same streams and checks.
"""

# httpcore's backend interface takes ``timeout`` arguments (ASYNC109), and
# anyio's typed stream attributes are read with ``.extra`` (not Django's: S610).
# ruff: noqa: ASYNC109, S610

from __future__ import annotations

import contextlib
import select
import ssl
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.abc
import httpcore
from anyio.streams.tls import TLSAttribute, TLSStream

from corral.client.dialing import ClusterUnavailable, Dialer

#: Seconds an idle pooled connection is kept: below the keep-alive timeout of
#: the API servers Corral talks to (uvicorn's default is 5 s), so a pooled
#: connection is dropped by us before the server closes it under a request.
KEEPALIVE_EXPIRY = 4.0


@contextlib.contextmanager
def _as_httpcore(failure: type[Exception]) -> Iterator[None]:
    """Stream errors raised inside as httpcore's ``failure`` (timeouts as their kind).

    Any failure of the dialed stream counts (a tunnel stream has its own
    error classes: reset, closed session); `ClusterUnavailable` and
    httpcore's own errors pass unchanged.
    """
    try:
        yield
    except (ClusterUnavailable, httpcore.NetworkError, httpcore.TimeoutException):
        raise
    except TimeoutError as exc:
        timeout: type[Exception] = httpcore.ConnectTimeout
        if failure is httpcore.ReadError:
            timeout = httpcore.ReadTimeout
        elif failure is httpcore.WriteError:
            timeout = httpcore.WriteTimeout
        raise timeout(str(exc) or "timed out") from exc
    except Exception as exc:
        raise failure(f"{type(exc).__name__}: {exc}") from exc


class DialedStream(httpcore.AsyncNetworkStream):
    """One dialed anyio byte stream (plain, or TLS once ``start_tls`` ran) for httpcore."""

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self._stream = stream
        self._socket: Any = stream.extra(anyio.abc.SocketAttribute.raw_socket, None)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _as_httpcore(httpcore.ReadError), anyio.fail_after(timeout):
            try:
                return await self._stream.receive(max_bytes)
            except anyio.EndOfStream:
                return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:
            with _as_httpcore(httpcore.WriteError), anyio.fail_after(timeout):
                await self._stream.send(buffer)

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with (
                _as_httpcore(httpcore.ConnectError),
                anyio.fail_after(timeout),
            ):
                wrapped = await TLSStream.wrap(
                    self._stream,
                    server_side=False,
                    hostname=server_hostname,
                    ssl_context=ssl_context,
                    standard_compatible=False,
                )
        except BaseException:
            await self.aclose()
            raise
        return DialedStream(wrapped)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._stream.extra(TLSAttribute.ssl_object, None)
        if info == "socket":
            return self._socket
        if info == "is_readable":
            return None if self._socket is None else _readable(self._socket)
        return None


def _readable(sock: Any) -> bool:
    """True if an idle socket has something to read (data or EOF): the server closed it."""
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class TCPDialer:
    """The `Dialer` of a cluster reached directly: plain TCP from here."""

    async def dial(self, host: str, port: int) -> anyio.abc.ByteStream:
        try:
            return await anyio.connect_tcp(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"{type(exc).__name__}: {exc}") from exc


class DialerBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend whose TCP connections ``dialer`` opens."""

    def __init__(self, dialer: Dialer) -> None:
        self._dialer = dialer

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        with _as_httpcore(httpcore.ConnectError), anyio.fail_after(timeout):
            stream = await self._dialer.dial(host, port)
        return DialedStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("a dialer reaches TCP addresses only")

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)
