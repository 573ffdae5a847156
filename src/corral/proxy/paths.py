"""Where a proxied request goes: ``/k8s/clusters/{id}/{rest}`` split, and the service proxy.

The path after the cluster id is forwarded as the client sent it (the raw,
still percent-encoded bytes, so ``%2F`` in a name stays one segment), with
its query string. A request under
``/api/v1/namespaces/{ns}/services/{name}/proxy`` (the service proxy, which
reaches a workload's own web server) is marked: it gets bearer-only
authentication and a sandboxing ``Content-Security-Policy``
(`corral.proxy.handler`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "/k8s/clusters"

_SERVICE_PROXY = re.compile(rb"^/api/v1/namespaces/[^/]+/services/[^/]+/proxy(/|$)")
_CLUSTER_ID = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True, slots=True)
class Target:
    """One proxied request's cluster and downstream path (raw bytes, query included)."""

    cluster: str
    path: bytes
    query: bytes

    @property
    def service_proxy(self) -> bool:
        return _SERVICE_PROXY.match(self.path) is not None

    @property
    def path_and_query(self) -> bytes:
        return self.path + (b"?" + self.query if self.query else b"")


def parse_target(raw_path: bytes, query: bytes) -> Target | None:
    """The target of ``raw_path`` (which starts with `PREFIX`), or None if it names no cluster."""
    rest = raw_path[len(PREFIX) + 1 :] if raw_path.startswith(PREFIX.encode() + b"/") else b""
    cluster_raw, slash, path = rest.partition(b"/")
    cluster = cluster_raw.decode("latin-1")
    if not _CLUSTER_ID.match(cluster):
        return None
    return Target(cluster, b"/" + path if slash else b"/", query)
