"""Agent tunnels, assembled: what start-up wires into the server (docs/agent.md).

`AgentTunnels` is built before the HTTPS app (which needs its
`websocket_routes`) and started after it, with the management client and
the registration-token index:

- `websocket_routes`: ``/v3/connect/register`` and ``/v3/connect``
  (`ConnectEndpoints`), ``/v3/connect/peer`` (`PeerTunnels`);
- `access`: the `AccessSource` the proxy and the per-cluster controllers
  use (`ClusterAccessSource`); usable before `start`, it answers
  `ClusterUnavailable` until then;
- `start`: binds the endpoints and starts this replica's heartbeat Lease and
  the sweep that marks clusters Disconnected when the replica holding their
  tunnel died (`AgentPresence`);
- `stop`: closes every tunnel (their clusters are marked Disconnected on the
  way out, best effort) and the peer sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

from corral.apiserver.asgi import ASGIApp
from corral.client import Client
from corral.client.dialing import ClusterAccess, ClusterUnavailable
from corral.management.agentaccess import ClusterAccessSource
from corral.management.agentcredentials import AgentCredentials
from corral.management.agentpresence import DEFAULT_TIMEOUT, AgentPresence
from corral.management.connect import CONNECT_PATH, REGISTER_PATH, ConnectEndpoints, TokenLookup
from corral.management.peertunnels import PEER_PATH, PeerTunnels
from corral.tunnel import SessionRegistry, TunnelMetrics


@dataclass(frozen=True, slots=True)
class TunnelOptions:
    """This replica's identity for agent tunnels."""

    #: Unique among the replicas of one datastore (holder of cluster Leases).
    replica: str
    #: Where other replicas reach this one (``https://host:port``).
    advertise_url: str
    #: The shared CA (peers verify each other with it).
    ca_pem: bytes
    #: The peer-tunnel secret (`peertunnels.peer_secret`).
    peer_secret: str
    #: ``cluster-agent-timeout``: how soon a dead replica's clusters turn Disconnected.
    agent_timeout: float = DEFAULT_TIMEOUT
    #: Where the tunnel's series go (the server's ``/metrics`` registry).
    metrics: TunnelMetrics | None = None


class AgentTunnels:
    """The agent side of the management server."""

    def __init__(self, options: TunnelOptions) -> None:
        self.options = options
        self.registry = SessionRegistry()
        self.endpoints = ConnectEndpoints(self.registry, metrics=options.metrics)
        self.peers = PeerTunnels(
            self.registry, options.peer_secret, options.ca_pem, metrics=options.metrics
        )
        self.presence: AgentPresence | None = None
        self._source: ClusterAccessSource | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def websocket_routes(self) -> Mapping[str, ASGIApp]:
        return {
            REGISTER_PATH: self.endpoints.serve,
            CONNECT_PATH: self.endpoints.serve,
            PEER_PATH: self.peers.serve,
        }

    async def access(self, cluster: str) -> ClusterAccess:
        """The `AccessSource` (Contract 4)."""
        if self._source is None:
            raise ClusterUnavailable(f"cluster {cluster}: the server is starting")
        return await self._source(cluster)

    async def start(self, client: Client, tokens: TokenLookup) -> None:
        credentials = AgentCredentials(client)
        presence = AgentPresence(
            client,
            self.options.replica,
            self.options.advertise_url,
            timeout=self.options.agent_timeout,
            holds=lambda cluster: self.registry.get(cluster) is not None,
        )
        self.presence = presence
        self.endpoints.bind(tokens, credentials, presence)
        self._source = ClusterAccessSource(self.registry, credentials, presence, self.peers)
        self._tasks = [
            asyncio.create_task(presence.run_heartbeat(), name="replica-heartbeat"),
            asyncio.create_task(presence.run_sweeper(), name="agent-lease-sweeper"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.endpoints.close_all()
        await self.peers.stop()
