"""`ClusterAccessSource`: how this replica reaches a cluster's API right now.

The proxy and the per-cluster controllers ask it for a cluster id and get a
`ClusterAccess` (Contract 1): the registered credentials as a
`ClusterConfig` (`AgentCredentials`) and a dialer —

- the agent's tunnel session when it is connected to this replica
  (`SessionDialer` over the `SessionRegistry` entry);
- else a peer dialer through the replica that holds it, per the cluster's
  live Lease (`AgentPresence.holder`, `PeerTunnels`);
- else `ClusterUnavailable("cluster c-x: agent not connected")`.

``local`` is not served here (the proxy serves it in-process) and is
refused the same way.
"""

from __future__ import annotations

from corral.client.dialing import ClusterAccess, ClusterUnavailable
from corral.management.agentcredentials import AgentCredentials
from corral.management.agentpresence import AgentPresence
from corral.management.clusterkinds import LOCAL_CLUSTER
from corral.management.peertunnels import PeerTunnels
from corral.tunnel import SessionDialer, SessionRegistry


class ClusterAccessSource:
    """An `AccessSource` over agent tunnels (here or on a peer replica)."""

    def __init__(
        self,
        registry: SessionRegistry,
        credentials: AgentCredentials,
        presence: AgentPresence,
        peers: PeerTunnels | None,
    ) -> None:
        self._registry = registry
        self._credentials = credentials
        self._presence = presence
        self._peers = peers

    async def __call__(self, cluster: str) -> ClusterAccess:
        if cluster == LOCAL_CLUSTER:
            raise ClusterUnavailable("cluster local is served in-process, not through an agent")
        session = self._registry.get(cluster)
        if session is not None and not session.closed:
            registered = await self._credentials.read(cluster)
            return ClusterAccess(cluster, registered.config(), SessionDialer(session))
        holder = await self._presence.holder(cluster)
        peers = self._peers
        if holder and holder.replica != self._presence.replica and holder.url and peers:
            registered = await self._credentials.read(cluster)
            return ClusterAccess(cluster, registered.config(), peers.dialer(holder.url, cluster))
        raise ClusterUnavailable(f"cluster {cluster}: agent not connected")
