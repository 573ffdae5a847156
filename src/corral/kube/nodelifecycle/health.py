"""`NodeHealth`: notices nodes that stopped reporting, and keeps their condition taints.

A node proves it is alive two ways: its kubelet renews the Lease
``kube-node-lease/<node>`` (every ~10 s) and posts the Ready condition with a
fresh ``lastHeartbeatTime``. As in Kubernetes' node lifecycle controller,
what counts is *when this controller saw either change*, on its own
monotonic clock (``ctx.clock``), so clocks of other machines need not agree:
a node whose heartbeat has not changed for ``node_monitor_grace_period`` is
presumed dead and every one of its conditions (Ready, MemoryPressure,
DiskPressure, PIDPressure) becomes ``Unknown`` with reason
``NodeStatusUnknown``.

The conditions decide the node's taints, kept here so that the scheduler
and taint eviction only read taints:

| condition | taints |
|---|---|
| Ready ``False`` | ``node.kubernetes.io/not-ready`` NoSchedule + NoExecute |
| Ready ``Unknown`` | ``node.kubernetes.io/unreachable`` NoSchedule + NoExecute |
| a pressure condition, NetworkUnavailable ``True`` | ``…-pressure`` etc. NoSchedule |
| ``spec.unschedulable`` | ``node.kubernetes.io/unschedulable`` NoSchedule |

A taint already there keeps its ``timeAdded`` (taint eviction counts
``tolerationSeconds`` from it); taints with other keys are never touched.

Each node is a key of a `Controller`; a Lease event queues its node, and a
healthy node is looked at again when its grace would run out (at most every
``node_monitor_period``), so a silent node is caught within the grace period
plus a few milliseconds, without a periodic scan of all nodes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from corral.client import PatchType
from corral.controller import Controller, QueueFullError, Result, WorkQueue
from corral.kube.context import KubeContext
from corral.kube.eventrecorder import NORMAL, WARNING, EventRecorder
from corral.kube.nodelifecycle.common import (
    condition_status,
    ensure_node_index,
    format_time,
    pods_on,
    wall_now,
)
from corral.kube.resources import LEASES, NODES, PODS
from corral.kube.taints import (
    NO_EXECUTE,
    NO_SCHEDULE,
    NOT_READY,
    UNREACHABLE,
    UNSCHEDULABLE,
    node_taints,
)
from corral.machinery.status import NotFound, StatusError

log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-node-lease"
MONITORED_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
STOPPED_REASON, STOPPED_MESSAGE = "NodeStatusUnknown", "Kubelet stopped posting node status."
NEVER_REASON, NEVER_MESSAGE = "NodeStatusNeverUpdated", "Kubelet never posted node status."

# Condition (True) -> NoSchedule taint key.
PRESSURE_TAINTS = {
    "MemoryPressure": "node.kubernetes.io/memory-pressure",
    "DiskPressure": "node.kubernetes.io/disk-pressure",
    "PIDPressure": "node.kubernetes.io/pid-pressure",
    "NetworkUnavailable": "node.kubernetes.io/network-unavailable",
}
MANAGED_TAINT_KEYS = frozenset({NOT_READY, UNREACHABLE, UNSCHEDULABLE, *PRESSURE_TAINTS.values()})

Obj = dict[str, Any]


@dataclass(slots=True)
class _Health:
    probe: float  # ctx.clock time the heartbeat was last seen to change
    renew: str  # the lease's renewTime then
    heartbeat: str  # the Ready condition's lastHeartbeatTime then
    ready: str = ""  # the effective Ready status last acted on


def desired_taints(node: Obj, ready: str) -> set[tuple[str, str]]:
    """The (key, effect) pairs node lifecycle wants on ``node`` given its Ready status."""
    wanted: set[tuple[str, str]] = set()
    if ready == "False":
        wanted |= {(NOT_READY, NO_SCHEDULE), (NOT_READY, NO_EXECUTE)}
    elif ready == "Unknown":
        wanted |= {(UNREACHABLE, NO_SCHEDULE), (UNREACHABLE, NO_EXECUTE)}
    if (node.get("spec") or {}).get("unschedulable"):
        wanted.add((UNSCHEDULABLE, NO_SCHEDULE))
    for condition, key in PRESSURE_TAINTS.items():
        if condition_status(node, condition) == "True":
            wanted.add((key, NO_SCHEDULE))
    return wanted


def reconcile_taints(
    current: list[dict[str, Any]], wanted: set[tuple[str, str]], now: str
) -> list[dict[str, Any]] | None:
    """The node's new taint list, or None when nothing changes."""
    kept = [
        t
        for t in current
        if t.get("key") not in MANAGED_TAINT_KEYS or (t.get("key"), t.get("effect")) in wanted
    ]
    have = {(t.get("key"), t.get("effect")) for t in kept}
    added = [
        {"key": key, "effect": effect, "timeAdded": now}
        for key, effect in sorted(wanted)
        if (key, effect) not in have
    ]
    if not added and len(kept) == len(current):
        return None
    return kept + added


class NodeHealth:
    """Node health monitoring and condition taints, as a `Controller` over nodes."""

    def __init__(self, ctx: KubeContext, recorder: EventRecorder) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.options = ctx.options
        self.recorder = recorder
        self.nodes = ctx.informers.informer(NODES)
        self.leases = ctx.informers.informer(LEASES, LEASE_NAMESPACE)
        self.pods = ctx.informers.informer(PODS)
        ensure_node_index(self.pods)
        self.health: dict[str, _Health] = {}
        # The queue runs on ctx.clock: requeues are timed on the clock heartbeats are read on.
        queue: WorkQueue[str] = WorkQueue("nodelifecycle", clock=ctx.clock)
        self.controller = Controller(
            "nodelifecycle", self.nodes, workers=ctx.options.workers, queue=queue
        )
        self.controller.on_change("monitor-health", self.monitor)
        self.leases.on_add(self._lease_changed)
        self.leases.on_update(lambda _old, new: self._lease_changed(new))

    def _lease_changed(self, lease: Obj) -> None:
        name = (lease.get("metadata") or {}).get("name")
        if isinstance(name, str) and name and self.nodes.get(name) is not None:
            try:
                self.controller.queue.add(name)
            except QueueFullError:
                log.warning("nodelifecycle queue full; node %s waits", name)

    async def run(self) -> None:
        await self.controller.run()

    async def stop(self) -> None:
        await self.controller.stop()

    # -- the handler ---------------------------------------------------------------

    def _observe(self, name: str, node: Obj) -> _Health:
        now = self.clock.now()
        lease = self.leases.get(f"{LEASE_NAMESPACE}/{name}")
        renew = str(((lease or {}).get("spec") or {}).get("renewTime") or "")
        heartbeat = ""
        for condition in (node.get("status") or {}).get("conditions") or []:
            if isinstance(condition, dict) and condition.get("type") == "Ready":
                heartbeat = str(condition.get("lastHeartbeatTime") or "")
        health = self.health.get(name)
        if health is None:
            health = self.health[name] = _Health(now, renew, heartbeat)
        elif (renew, heartbeat) != (health.renew, health.heartbeat):
            health.probe, health.renew, health.heartbeat = now, renew, heartbeat
        return health

    async def monitor(self, key: str, node: Obj | None) -> Result | None:
        if node is None:
            self.health.pop(key, None)
            return None
        health = self._observe(key, node)
        grace = self.options.node_monitor_grace_period
        period = self.options.node_monitor_period
        left = health.probe + grace - self.clock.now()
        if left < 0:
            if await self._mark_unknown(node):
                return Result(requeue_after=period)  # the status update brings the node back
            ready = "Unknown"
        else:
            ready = condition_status(node, "Ready")
            if not _has_condition(node, "Ready"):
                ready = "True"  # not reported yet: no taint before the grace period ends
        await self._transition(node, health, ready)
        await self._set_taints(node, ready)
        return Result(requeue_after=period if left < 0 else min(period, left + 0.01))

    async def _mark_unknown(self, node: Obj) -> bool:
        """Every monitored condition to Unknown; whether anything had to change."""
        now = format_time(wall_now())
        conditions = {
            c.get("type"): c
            for c in (node.get("status") or {}).get("conditions") or []
            if isinstance(c, dict)
        }
        created = (node.get("metadata") or {}).get("creationTimestamp")
        patch: list[Obj] = []
        for type_ in MONITORED_CONDITIONS:
            current = conditions.get(type_)
            if current is None:
                patch.append(
                    {
                        "type": type_,
                        "status": "Unknown",
                        "reason": NEVER_REASON,
                        "message": NEVER_MESSAGE,
                        "lastHeartbeatTime": created,
                        "lastTransitionTime": now,
                    }
                )
            elif current.get("status") != "Unknown":
                patch.append(
                    {
                        "type": type_,
                        "status": "Unknown",
                        "reason": STOPPED_REASON,
                        "message": STOPPED_MESSAGE,
                        "lastTransitionTime": now,
                    }
                )
        if not patch:
            return False
        name = node["metadata"]["name"]
        log.info("node %s stopped posting status; conditions now Unknown", name)
        await self.client.patch(
            NODES,
            name,
            {"status": {"conditions": patch}},
            subresource="status",
            patch_type=PatchType.STRATEGIC,
        )
        return True

    async def _transition(self, node: Obj, health: _Health, ready: str) -> None:
        """Events (and pods marked not ready) when the effective Ready status changes."""
        before, health.ready = health.ready, ready
        if before == ready:
            return
        name = node["metadata"]["name"]
        if ready == "True":
            if before:  # not on the first look at a healthy node
                self.recorder.record(
                    node, NORMAL, "NodeReady", f"Node {name} status is now: NodeReady"
                )
            return
        if before in ("", "True") or ready == "Unknown":
            self.recorder.record(
                node, NORMAL, "NodeNotReady", f"Node {name} status is now: NodeNotReady"
            )
            await self._mark_pods_not_ready(name)

    async def _mark_pods_not_ready(self, node: str) -> None:
        """Kubernetes' MarkPodsNotReady: a pod on a dead node is not ready either."""
        now = format_time(wall_now())
        for pod in pods_on(self.pods, node):
            meta = pod.get("metadata") or {}
            if meta.get("deletionTimestamp"):
                continue
            if condition_status(pod, "Ready") != "True":
                continue
            condition = {"type": "Ready", "status": "False", "lastTransitionTime": now}
            try:
                await self.client.patch(
                    PODS,
                    meta.get("name") or "",
                    {"status": {"conditions": [condition]}},
                    namespace=meta.get("namespace") or "default",
                    subresource="status",
                    patch_type=PatchType.STRATEGIC,
                )
            except NotFound:
                continue
            except StatusError as err:
                log.info("could not mark pod %s not ready: %s", meta.get("name"), err)
                continue
            self.recorder.record(pod, WARNING, "NodeNotReady", "Node is not ready")

    async def _set_taints(self, node: Obj, ready: str) -> None:
        current = node_taints(node)
        new = reconcile_taints(current, desired_taints(node, ready), format_time(wall_now()))
        if new is None:
            return
        meta = node["metadata"]
        log.info(
            "node %s taints: %s",
            meta["name"],
            ", ".join(f"{t.get('key')}:{t.get('effect')}" for t in new) or "none",
        )
        await self.client.patch(
            NODES,
            meta["name"],
            {"metadata": {"resourceVersion": meta.get("resourceVersion")}, "spec": {"taints": new}},
        )


def _has_condition(node: Obj, type_: str) -> bool:
    return any(
        isinstance(c, dict) and c.get("type") == type_
        for c in (node.get("status") or {}).get("conditions") or []
    )
