"""Which headers cross the proxy, each way.

Outgoing (client → cluster) headers come from an allow-list: content
negotiation, the body's framing and encoding, conditional requests, the
client's name and request id, kubectl's command annotations. Everything
else stays behind — above all the client's ``Authorization``, cookies, the
CSRF header, ``X-Forwarded-*`` and any ``Impersonate-*`` (the proxy sets
its own, `corral.proxy.identity`). Hop-by-hop headers (RFC 9110 §7.6.1, and
those ``Connection`` names) are dropped both ways.

Incoming (cluster → client) headers pass except hop-by-hop ones,
``Set-Cookie`` (a cluster's cookie must never land on Corral's origin), the
ones Corral's own responses always set (``Cache-Control``,
``X-Content-Type-Options``, ``Date``, ``Server``: sent once, by Corral) and, for the service
proxy, any ``Content-Security-Policy`` (replaced by ``sandbox``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

Headers = list[tuple[bytes, bytes]]

ALLOWED_REQUEST_HEADERS: Final = frozenset(
    {
        b"accept",
        b"accept-encoding",
        b"accept-language",
        b"content-type",
        b"content-encoding",
        b"content-length",
        b"if-match",
        b"if-none-match",
        b"if-modified-since",
        b"if-unmodified-since",
        b"user-agent",
        b"x-request-id",
        b"audit-id",
        b"kubectl-command",
        b"kubectl-session",
        b"x-stream-protocol-version",
    }
)

HOP_BY_HOP: Final = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)

#: Set on every answer of the service proxy: the page runs as a unique
#: origin, without scripts that could act in the user's Corral session.
SANDBOX: Final = (b"content-security-policy", b"sandbox")

_ALWAYS_SET_BY_CORRAL: Final = frozenset(
    {b"cache-control", b"x-content-type-options", b"date", b"server"}
)


def _connection_names(headers: Iterable[tuple[bytes, bytes]]) -> frozenset[bytes]:
    names: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            names.update(token.strip().lower() for token in value.split(b","))
    return frozenset(names)


def outgoing(client_headers: Sequence[tuple[bytes, bytes]]) -> Headers:
    """The client's headers that may go to the cluster (names lower-case)."""
    named = _connection_names(client_headers)
    out: Headers = []
    for raw_name, value in client_headers:
        name = raw_name.lower()
        if name in ALLOWED_REQUEST_HEADERS and name not in named:
            out.append((name, value))
    return out


def incoming(upstream: Sequence[tuple[bytes, bytes]], *, service_proxy: bool) -> Headers:
    """The cluster's answer headers that go back to the client, lower-case names.

    ``content-type`` is included (the caller takes it out for Corral's response types).
    """
    named = _connection_names(upstream)
    out: Headers = []
    for raw_name, value in upstream:
        name = raw_name.lower()
        if name in HOP_BY_HOP or name in named or name in _ALWAYS_SET_BY_CORRAL:
            continue
        if name == b"set-cookie":
            continue
        if service_proxy and name == b"content-security-policy":
            continue
        out.append((name, value))
    if service_proxy:
        out.append(SANDBOX)
    return out
