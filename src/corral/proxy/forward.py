"""Forwarding one HTTP request to a cluster and streaming its answer back.

The request body streams from the client to the cluster as it arrives
(framed as the client framed it: its ``Content-Length``, or chunked), and
the answer streams back: a small answer of known length (the usual GET) is
read whole and sent as one response, anything else — watches, ``logs -f``,
large lists — chunk by chunk as the cluster sends it, until it ends or the
client goes. A GET (HEAD, OPTIONS) that fails on a pooled connection the cluster had
closed is sent once more. A failure to reach the cluster is a 503 naming the cluster
and the kind of failure; the exception's text (which may name addresses)
goes to the log only, and no header value ever does.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpcore

from corral.apiserver.asgi import AnyResponse, Receive, Response, StreamingResponse
from corral.machinery.status import BadRequest, ServiceUnavailable
from corral.proxy.headers import Headers, incoming

log = logging.getLogger("corral.proxy")

#: Answers up to this size (declared by Content-Length) are sent whole.
BUFFERED_ANSWER_LIMIT = 256 * 1024
#: Seconds to wait for an ordinary answer; a watch or a followed log has none.
READ_TIMEOUT = 120.0
CONNECT_TIMEOUT = 10.0

_DEFAULT_TYPE = b"application/octet-stream"
_RETRYABLE = frozenset({"GET", "HEAD", "OPTIONS"})


def upstream_url(server: str, target: bytes) -> httpcore.URL:
    """The URL of ``target`` (path and query) on the cluster's ``server``."""
    parts = urlsplit(server)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    prefix = parts.path.rstrip("/").encode()
    return httpcore.URL(
        scheme=parts.scheme.encode(),
        host=(parts.hostname or "").encode(),
        port=port,
        target=prefix + target,
    )


def host_header(url: httpcore.URL) -> tuple[bytes, bytes]:
    """``Host`` for ``url`` (the cluster's own address, never the client's Host)."""
    default = 443 if url.scheme == b"https" else 80
    host = url.host if b":" not in url.host else b"[" + url.host + b"]"
    if url.port in (None, default):
        return (b"host", host)
    return (b"host", host + b":" + str(url.port).encode())


def timeouts(long_running: bool) -> dict[str, float | None]:
    return {
        "connect": CONNECT_TIMEOUT,
        "pool": CONNECT_TIMEOUT,
        "write": READ_TIMEOUT,
        "read": None if long_running else READ_TIMEOUT,
    }


class ClientGone(Exception):
    """The client disconnected before its request body was complete."""


async def request_body(receive: Receive) -> AsyncIterator[bytes]:
    """The client's body, chunk by chunk as it arrives."""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientGone("the client went away while sending its body")
        chunk: bytes = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def unreachable(cluster: str, exc: Exception) -> ServiceUnavailable:
    """The 503 of a cluster that could not be reached (logged with the cause)."""
    log.warning(
        "cluster %s unreachable: %s: %s",
        cluster,
        type(exc).__name__,
        exc,
        extra={"cluster": cluster},
    )
    return ServiceUnavailable(f"error trying to reach cluster {cluster}: {type(exc).__name__}")


async def _chunks(response: httpcore.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_stream():
            yield chunk
    except httpcore.ReadError:
        return  # the cluster closed the stream: the answer ends here
    finally:
        with contextlib.suppress(Exception):
            await response.aclose()


async def forward(
    pool: httpcore.AsyncConnectionPool,
    cluster: str,
    method: str,
    url: httpcore.URL,
    headers: Headers,
    body: AsyncIterator[bytes] | None,
    *,
    long_running: bool,
    service_proxy: bool,
) -> AnyResponse:
    """Send the request and answer with the cluster's response (streamed if need be)."""
    request = httpcore.Request(
        method.encode(),
        url,
        headers=[host_header(url), *headers],
        content=body if body is not None else b"",
        extensions={"timeout": timeouts(long_running)},
    )
    try:
        try:
            response = await pool.handle_async_request(request)
        except (httpcore.RemoteProtocolError, httpcore.ReadError, httpcore.WriteError):
            if body is not None or method not in _RETRYABLE:
                raise
            # A pooled connection the cluster closed while idle (a tunnel stream
            # cannot be polled for that): a request without a body is sent again,
            # once, on a connection the pool opens afresh if need be.
            response = await pool.handle_async_request(request)
    except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as exc:
        raise unreachable(cluster, exc) from None
    except ClientGone:
        raise BadRequest("the request body ended before it was complete") from None
    answer_headers = incoming(response.headers, service_proxy=service_proxy)
    content_type = _DEFAULT_TYPE
    length: int | None = None
    kept: Headers = []
    for name, value in answer_headers:
        if name == b"content-type":
            content_type = value
        elif name == b"content-length":
            length = int(value) if value.isdigit() else None
        else:
            kept.append((name, value))
    if length is not None and length <= BUFFERED_ANSWER_LIMIT:
        try:
            data = await response.aread()
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise unreachable(cluster, exc) from None
        finally:
            await response.aclose()
        return Response(response.status, data, content_type, kept)
    if length is not None:
        kept.append((b"content-length", str(length).encode()))
    return StreamingResponse(response.status, _chunks(response), content_type, kept)
