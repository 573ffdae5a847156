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

The answer stays *equal* while nothing changed (the same `SessionDialer`
object for the same session, the same peer dialer for the same holder), so
callers that keep a connection pool per access (the proxy) keep it — and
the watches streaming over it — until the agent reconnects.
"""

from __future__ import annotations

from corral.client.dialing import ClusterAccess, ClusterUnavailable
from corral.management.agentcredentials import AgentCredentials
from corral.management.agentpresence import AgentPresence
from corral.management.clusterkinds import LOCAL_CLUSTER
from corral.management.peertunnels import PeerDialer, PeerTunnels
from corral.tunnel import Session, SessionDialer, SessionRegistry


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
        self._dialers: dict[str, tuple[Session, SessionDialer]] = {}
        self._peer_dialers: dict[tuple[str, str], PeerDialer] = {}

    async def __call__(self, cluster: str) -> ClusterAccess:
        if cluster == LOCAL_CLUSTER:
            raise ClusterUnavailable("cluster local is served in-process, not through an agent")
        session = self._registry.get(cluster)
        if session is not None and not session.closed:
            registered = await self._credentials.read(cluster)
            return ClusterAccess(
                cluster, registered.config(), self._session_dialer(cluster, session)
            )
        holder = await self._presence.holder(cluster)
        peers = self._peers
        if holder and holder.replica != self._presence.replica and holder.url and peers:
            registered = await self._credentials.read(cluster)
            dialer = self._peer_dialers.get((holder.url, cluster))
            if dialer is None:
                dialer = self._peer_dialers[(holder.url, cluster)] = peers.dialer(
                    holder.url, cluster
                )
            return ClusterAccess(cluster, registered.config(), dialer)
        raise ClusterUnavailable(f"cluster {cluster}: agent not connected")

    def _session_dialer(self, cluster: str, session: Session) -> SessionDialer:
        known = self._dialers.get(cluster)
        if known is not None and known[0] is session:
            return known[1]
        dialer = SessionDialer(session)
        self._dialers[cluster] = (session, dialer)
        return dialer
