"""One simulated node's registration and heartbeats, as a kubelet does them.

`NodeAgent.run` registers the Node (creating it, or restoring its labels and
annotations if it exists — names are stable, so a restarted server finds
its nodes again), reports its status, then keeps two beats until cancelled:

- the Lease ``kube-node-lease/<node>`` (holder the node, ``leaseDurationSeconds``
  40) renewed every ``lease_renew_interval`` — the cheap heartbeat the node
  lifecycle controller watches;
- the node status (conditions' ``lastHeartbeatTime``) every
  ``status_interval``, or at once when `report_soon` is called because
  someone else changed what the node reports (e.g. marked it Unknown).

A Node annotated ``corral.io/simulate-heartbeat=stopped`` stops both beats
(the agent reads it at each report, and reports when the Node changes), so
the node lifecycle controller sees a dead kubelet; removing the annotation
brings the node back.

Both are staggered by the node's index so 50 nodes do not write at the
same instant. Writes use the resourceVersion read just before and retry a
409 with a fresh read. A Node deleted behind the agent's back is registered
again at the next report. Stopping is cancelling the task: nothing is
deleted (a real kubelet leaves its Node too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

from corral.client import Client, PatchType
from corral.machinery.status import AlreadyExists, Conflict, NotFound
from corral.node.nodeobject import (
    NodeIdentity,
    lease_manifest,
    node_annotations,
    node_labels,
    node_manifest,
    node_status,
)
from corral.node.options import SimulatedNodeOptions
from corral.node.refs import LEASES, NODE_LEASE_NAMESPACE, NODES, heartbeat_stopped
from corral.node.timefmt import rfc3339_micro

log = logging.getLogger("corral.node")

Obj = dict[str, Any]
DEFAULT_KUBELET_VERSION = "v1.32.0"
_RETRY_MIN, _RETRY_MAX = 0.2, 10.0


class NodeAgent:
    """Registration, Lease renewal and status reports of one simulated node."""

    def __init__(
        self,
        ident: NodeIdentity,
        client: Client,
        options: SimulatedNodeOptions,
        *,
        stagger: float = 0.0,
    ) -> None:
        self.ident = ident
        self.client = client
        self.options = options
        self.stagger = stagger
        self.kubelet_version = DEFAULT_KUBELET_VERSION
        self.boot_id = str(uuid.uuid4())
        self.node_uid = ""
        self.registered = asyncio.Event()
        self._report_soon = asyncio.Event()
        self._lease: Obj | None = None
        self.stopped = False
        """The Node asks for no heartbeats (``corral.io/simulate-heartbeat=stopped``)."""

    @property
    def name(self) -> str:
        return self.ident.name

    def report_soon(self) -> None:
        self._report_soon.set()

    async def run(self) -> None:
        delay = _RETRY_MIN
        while True:
            try:
                await self.register()
                break
            except Exception as exc:
                log.warning("node %s: registration failed (%s), retrying", self.name, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)
        self.registered.set()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._lease_loop())
            group.create_task(self._status_loop())

    async def register(self) -> None:
        try:
            node = await self.client.get(NODES, self.name)
        except NotFound:
            try:
                node = await self.client.create(NODES, node_manifest(self.ident))
            except AlreadyExists:
                node = await self.client.get(NODES, self.name)
        else:
            node = await self._restore_metadata(node)
        self.node_uid = str(node["metadata"].get("uid", ""))
        await self.report(node)
        await self.renew_lease()

    async def _restore_metadata(self, node: Obj) -> Obj:
        meta = node.get("metadata") or {}
        labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
        want_labels, want_annotations = node_labels(self.ident), node_annotations()
        if all(labels.get(k) == v for k, v in want_labels.items()) and all(
            annotations.get(k) == v for k, v in want_annotations.items()
        ):
            return node
        patch = {"metadata": {"labels": want_labels, "annotations": want_annotations}}
        return await self.client.patch(NODES, self.name, patch, patch_type=PatchType.MERGE)

    async def report(self, node: Obj | None = None) -> None:
        """Write the node status now (one fresh read and retry on 409)."""
        for _ in range(3):
            if node is None:
                node = await self.client.get(NODES, self.name)
            if heartbeat_stopped(node) != self.stopped:
                self.stopped = not self.stopped
                log.info(
                    "node %s: heartbeats %s", self.name, "stopped" if self.stopped else "resumed"
                )
            if self.stopped:
                return
            status = node_status(
                self.ident,
                self.kubelet_version,
                self.boot_id,
                time.time(),
                node.get("status") or {},
            )
            try:
                await self.client.update(NODES, {**node, "status": status}, subresource="status")
                return
            except Conflict:
                node = None
        raise Conflict("nodes", self.name)

    async def renew_lease(self) -> None:
        now = time.time()
        duration = self.options.lease_duration_seconds
        for _ in range(3):
            lease = self._lease
            if lease is None:
                try:
                    lease = await self.client.get(LEASES, self.name, namespace=NODE_LEASE_NAMESPACE)
                except NotFound:
                    body = lease_manifest(self.ident, self.node_uid, duration, now)
                    try:
                        self._lease = await self.client.create(LEASES, body)
                        return
                    except AlreadyExists:
                        continue
            spec = dict(lease.get("spec") or {})
            spec.update(
                holderIdentity=self.name,
                leaseDurationSeconds=duration,
                renewTime=rfc3339_micro(now),
            )
            meta = dict(lease.get("metadata") or {})
            if self.node_uid:  # a Node registered again has a new uid
                owner = lease_manifest(self.ident, self.node_uid, duration, now)["metadata"]
                meta["ownerReferences"] = owner["ownerReferences"]
            try:
                self._lease = await self.client.update(
                    LEASES, {**lease, "metadata": meta, "spec": spec}
                )
                return
            except (Conflict, NotFound):
                self._lease = None
        raise Conflict("leases", self.name, group="coordination.k8s.io")

    async def _lease_loop(self) -> None:
        interval = self.options.lease_renew_interval
        await asyncio.sleep(interval * self.stagger)
        while True:
            try:
                if not self.stopped:
                    await self.renew_lease()
            except Exception as exc:
                log.warning("node %s: lease renewal failed: %s", self.name, exc)
            await asyncio.sleep(interval)

    async def _status_loop(self) -> None:
        first = self.options.status_interval * self.stagger
        timeout = first if first > 0 else self.options.status_interval
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._report_soon.wait(), timeout=timeout)
            self._report_soon.clear()
            timeout = self.options.status_interval
            try:
                await self.report()
            except NotFound:
                log.info("node %s: the Node is gone, registering again", self.name)
                try:
                    await self.register()
                except Exception as exc:
                    log.warning("node %s: registration failed: %s", self.name, exc)
            except Exception as exc:
                log.warning("node %s: status report failed: %s", self.name, exc)
