"""Whether a cluster's agent is connected, and to which replica: Leases and Cluster status.

The replica that holds a cluster's tunnel says so in three places:

- a coordination.k8s.io ``Lease`` named ``cluster-agent`` in the cluster's
  namespace, taken when the agent connects: ``holderIdentity`` is the
  replica's id, the annotation ``corral.io/advertise-url`` its URL (where
  peers forward streams); deleted when the agent disconnects cleanly;
- the replica's own heartbeat Lease, ``kube-system/corral-replica-<hash of
  its id>``, renewed every third of ``cluster-agent-timeout`` for as long as
  the replica runs. A cluster Lease counts only while its holder's heartbeat
  is live — so holding N tunnels costs one write per period, not N (the
  figure: ``python -m bench clusters``);
- the Cluster's status: ``agent`` {``connected``, ``lastConnected``,
  ``lastDisconnected``, ``replica``} and the ``Connected`` condition
  (``AgentConnected``; ``AgentDisconnected`` when it went away).

A clean disconnect writes ``Connected=False`` at once and deletes the cluster
Lease. A replica that dies cannot: every replica runs `sweep` every third of
the timeout, which marks Disconnected each cluster still shown connected
whose Lease is gone, names a replica whose heartbeat expired, or names this
replica without a tunnel here (it restarted). So a dead replica's clusters
turn Disconnected within about ``timeout * 4/3``, and Connected again as soon
as their agents redial any replica. Status writes are read-modify-write with
the resourceVersion, retried on conflict, so they never undo another
controller's conditions.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from corral.client import Client, ClientError, Preconditions, ResourceRef
from corral.controller.conditions import FALSE, TRUE, format_time, get_condition, set_condition
from corral.controller.leaderelection import micro_time
from corral.machinery.status import AlreadyExists, Conflict, NotFound, StatusError
from corral.management.clusterkinds import CLUSTERS

log = logging.getLogger("corral.management.agents")

LEASES = ResourceRef("coordination.k8s.io", "v1", "leases", kind="Lease")
LEASE_NAME: Final = "cluster-agent"
HEARTBEAT_NAMESPACE: Final = "kube-system"
HEARTBEAT_PREFIX: Final = "corral-replica-"
ADVERTISE_ANNOTATION: Final = "corral.io/advertise-url"
CONNECTED: Final = "Connected"
AGENT_CONNECTED: Final = "AgentConnected"
AGENT_DISCONNECTED: Final = "AgentDisconnected"
DEFAULT_TIMEOUT: Final = 45.0
WRITE_ATTEMPTS: Final = 5


@dataclass(frozen=True, slots=True)
class Holder:
    """The replica that holds a cluster's tunnel, from its Lease."""

    replica: str
    url: str


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def heartbeat_name(replica: str) -> str:
    """The name of ``replica``'s heartbeat Lease."""
    return HEARTBEAT_PREFIX + hashlib.sha256(replica.encode()).hexdigest()[:16]


def lease_live(lease: dict[str, Any], now: datetime) -> bool:
    """True while ``lease`` was renewed within its duration."""
    spec = lease.get("spec") or {}
    renewed = _parse_time(spec.get("renewTime")) or _parse_time(spec.get("acquireTime"))
    duration = spec.get("leaseDurationSeconds")
    if renewed is None or not isinstance(duration, int) or not spec.get("holderIdentity"):
        return False
    return now <= renewed + timedelta(seconds=duration)


class AgentPresence:
    """This replica's leases and the Cluster status they stand for."""

    def __init__(
        self,
        client: Client,
        replica: str,
        advertise_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        holds: Callable[[str], bool] = lambda cluster: False,
    ) -> None:
        self._client = client
        self.replica = replica
        self.advertise_url = advertise_url
        self.timeout = timeout
        self._holds = holds

    # -- this replica's tunnels -------------------------------------------

    async def connected(self, cluster: str) -> None:
        """The agent of ``cluster`` connected here: take the Lease, mark Connected."""
        await self._take_lease(LEASE_NAME, cluster)
        now = format_time(datetime.now(UTC))

        def mark(obj: dict[str, Any]) -> None:
            status = obj.setdefault("status", {})
            agent = status.setdefault("agent", {})
            agent.update({"connected": True, "lastConnected": now, "replica": self.replica})
            if status.get("state") in (None, "", "pending", "disconnected"):
                status["state"] = "active"
            set_condition(
                obj, CONNECTED, TRUE, AGENT_CONNECTED, f"agent connected to {self.replica}"
            )

        await self._write_status(cluster, mark)

    async def disconnected(self, cluster: str, message: str = "the agent's tunnel closed") -> None:
        """The agent of ``cluster`` went away from here: release, mark Disconnected —
        unless it already reconnected to another replica (whose Lease it is now)."""
        holder = await self._recorded_holder(cluster)
        if holder is not None and holder.replica != self.replica:
            return
        await self._release_lease(cluster)
        await self.mark_disconnected(cluster, message)

    async def mark_disconnected(self, cluster: str, message: str) -> None:
        now = format_time(datetime.now(UTC))

        def mark(obj: dict[str, Any]) -> None:
            status = obj.setdefault("status", {})
            agent = status.setdefault("agent", {})
            agent.update({"connected": False, "lastDisconnected": now})
            set_condition(obj, CONNECTED, FALSE, AGENT_DISCONNECTED, message)
            if status.get("state") in (None, "", "active", "unavailable"):
                status["state"] = "disconnected"

        await self._write_status(cluster, mark)

    async def run_heartbeat(self) -> None:
        """Renew this replica's heartbeat Lease every third of the timeout, until cancelled."""
        name = heartbeat_name(self.replica)
        while True:
            try:
                await self._take_lease(name, HEARTBEAT_NAMESPACE)
            except (StatusError, ClientError) as exc:
                log.warning("replica heartbeat failed", extra={"error": str(exc)})
            await asyncio.sleep(self.timeout / 3)

    # -- other replicas --------------------------------------------------

    async def holder(self, cluster: str) -> Holder | None:
        """The live holder of ``cluster``'s tunnel, per its Lease (None if none or dead)."""
        recorded = await self._recorded_holder(cluster)
        if recorded is None or not await self._alive(recorded.replica):
            return None
        return recorded

    async def _recorded_holder(self, cluster: str) -> Holder | None:
        try:
            lease = await self._client.get(LEASES, LEASE_NAME, namespace=cluster)
        except NotFound:
            return None
        replica = (lease.get("spec") or {}).get("holderIdentity") or ""
        url = (lease["metadata"].get("annotations") or {}).get(ADVERTISE_ANNOTATION, "")
        return Holder(replica, url) if replica else None

    async def _alive(self, replica: str) -> bool:
        """Whether ``replica``'s heartbeat Lease is live (this replica: always)."""
        if replica == self.replica:
            return True
        try:
            lease = await self._client.get(
                LEASES, heartbeat_name(replica), namespace=HEARTBEAT_NAMESPACE
            )
        except NotFound:
            return False
        return lease_live(lease, datetime.now(UTC))

    async def sweep(self) -> None:
        """Mark Disconnected every cluster shown connected that no live Lease holds."""
        clusters = await self._client.list(CLUSTERS)
        alive: dict[str, bool] = {}
        for cluster in clusters.get("items") or []:
            name = cluster["metadata"]["name"]
            condition = get_condition(cluster, CONNECTED)
            agent = (cluster.get("status") or {}).get("agent") or {}
            if agent.get("connected") is not True or condition is None:
                continue
            if condition.get("reason") != AGENT_CONNECTED or self._holds(name):
                continue
            holder = await self._recorded_holder(name)
            if holder is not None and holder.replica != self.replica:
                if holder.replica not in alive:
                    alive[holder.replica] = await self._alive(holder.replica)
                if alive[holder.replica]:
                    continue
            if self._holds(name):
                continue  # its agent connected here meanwhile
            if holder is not None and holder.replica == self.replica:
                await self._release_lease(name)  # held before a restart of this replica
            log.info(
                "the agent's replica is gone; marking the cluster disconnected",
                extra={"cluster": name},
            )
            await self.mark_disconnected(
                name, "the replica holding the agent's tunnel stopped renewing its lease"
            )

    async def run_sweeper(self) -> None:
        """`sweep` every third of the timeout, until cancelled."""
        while True:
            await asyncio.sleep(self.timeout / 3)
            try:
                await self.sweep()
            except (StatusError, ClientError) as exc:
                log.warning("agent lease sweep failed", extra={"error": str(exc)})

    # -- internals -------------------------------------------------------

    def _lease_body(
        self, name: str, namespace: str, resource_version: str | None
    ) -> dict[str, Any]:
        now = micro_time()
        metadata: dict[str, Any] = {
            "name": name,
            "namespace": namespace,
            "annotations": {ADVERTISE_ANNOTATION: self.advertise_url},
        }
        if resource_version is not None:
            metadata["resourceVersion"] = resource_version
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": self.replica,
                "leaseDurationSeconds": max(1, round(self.timeout)),
                "acquireTime": now,
                "renewTime": now,
            },
        }

    async def _take_lease(self, name: str, namespace: str) -> None:
        """Create or overwrite the Lease ``namespace/name`` as held by this replica, now."""
        for _ in range(WRITE_ATTEMPTS):
            try:
                current = await self._client.get(LEASES, name, namespace=namespace)
            except NotFound:
                try:
                    await self._client.create(LEASES, self._lease_body(name, namespace, None))
                    return
                except AlreadyExists:
                    continue
            try:
                rv = current["metadata"]["resourceVersion"]
                await self._client.update(LEASES, self._lease_body(name, namespace, rv))
                return
            except (Conflict, NotFound):
                continue
        log.warning("could not take a lease", extra={"lease": f"{namespace}/{name}"})

    async def _release_lease(self, cluster: str) -> None:
        try:
            current = await self._client.get(LEASES, LEASE_NAME, namespace=cluster)
            if (current.get("spec") or {}).get("holderIdentity") != self.replica:
                return
            rv = current["metadata"]["resourceVersion"]
            await self._client.delete(
                LEASES,
                LEASE_NAME,
                namespace=cluster,
                preconditions=Preconditions(resource_version=rv),
            )
        except (StatusError, ClientError):
            pass

    async def _write_status(self, cluster: str, mark: Callable[[dict[str, Any]], None]) -> None:
        for _ in range(WRITE_ATTEMPTS):
            try:
                obj = await self._client.get(CLUSTERS, cluster)
                mark(obj)
                await self._client.update(CLUSTERS, obj, subresource="status")
                return
            except Conflict:
                continue
            except NotFound:
                return  # the cluster was deleted
            except (StatusError, ClientError) as exc:
                log.warning(
                    "cannot write the cluster's agent status",
                    extra={"cluster": cluster, "error": str(exc)},
                )
                return
        log.warning("gave up writing the cluster's agent status", extra={"cluster": cluster})
