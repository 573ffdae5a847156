"""One keep-alive connection pool per cluster, for as long as its access stays the same.

A pool is made for the `ClusterAccess` the access source answers: TLS
from its config (the cluster's CA, ``tls-server-name``), connections opened
by its dialer (the agent's tunnel, through `corral.client.dialnet`) or by
TCP when it has none. When the source answers a different access (the
agent reconnected, the credentials were rotated) the old pool is closed —
with whatever still streams over it — and a new one made: nothing keeps
using a session or a token that is gone.
"""

from __future__ import annotations

import contextlib

import httpcore

from corral.client.credentials import ssl_context
from corral.client.dialing import ClusterAccess
from corral.client.dialnet import KEEPALIVE_EXPIRY, DialerBackend, TCPDialer

#: Idle connections kept per cluster (streams in use are not limited).
MAX_IDLE_PER_CLUSTER = 32


def new_pool(access: ClusterAccess) -> httpcore.AsyncConnectionPool:
    """A pool that reaches ``access``'s API as its config says."""
    config = access.config
    https = config.server.startswith("https:")
    return httpcore.AsyncConnectionPool(
        ssl_context=ssl_context(config) if https else None,
        max_connections=None,
        max_keepalive_connections=MAX_IDLE_PER_CLUSTER,
        keepalive_expiry=KEEPALIVE_EXPIRY,
        network_backend=DialerBackend(access.dialer or TCPDialer()),
    )


def new_connection(access: ClusterAccess, url: httpcore.URL) -> httpcore.AsyncHTTPConnection:
    """One connection outside the pool, for an upgrade (a WebSocket holds it to the end,
    and a refused upgrade leaves it in a state not worth reusing)."""
    config = access.config
    https = config.server.startswith("https:")
    return httpcore.AsyncHTTPConnection(
        httpcore.Origin(url.scheme, url.host, url.port or (443 if https else 80)),
        ssl_context=ssl_context(config) if https else None,
        network_backend=DialerBackend(access.dialer or TCPDialer()),
    )


class ClusterPools:
    """The current pool of each cluster."""

    def __init__(self) -> None:
        self._pools: dict[str, tuple[ClusterAccess, httpcore.AsyncConnectionPool]] = {}

    async def pool_for(self, access: ClusterAccess) -> httpcore.AsyncConnectionPool:
        """The pool for ``access`` (a new one, the old closed, if its access changed)."""
        current = self._pools.get(access.cluster)
        if current is not None:
            if current[0] == access:
                return current[1]
            del self._pools[access.cluster]
            with contextlib.suppress(Exception):
                await current[1].aclose()
        pool = new_pool(access)
        self._pools[access.cluster] = (access, pool)
        return pool

    async def close(self) -> None:
        pools, self._pools = self._pools, {}
        for _, pool in pools.values():
            with contextlib.suppress(Exception):
                await pool.aclose()
