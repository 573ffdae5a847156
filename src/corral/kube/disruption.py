"""The disruption controller: each PodDisruptionBudget's status, which evictions spend.

Kubernetes' ``disruption`` controller, per PodDisruptionBudget key:

- Its pods are those of its namespace matching ``spec.selector`` (a null
  or empty selector matches none).
- ``expectedPods`` and ``desiredHealthy``: with an integer
  ``minAvailable``, the number of matching pods and that integer; with a
  percentage ``minAvailable`` or a ``maxUnavailable``, the scale of the
  pods' controllers (a ReplicaSet's Deployment, else the ReplicaSet; a
  StatefulSet; a ReplicationController) — pods without a controller are
  left out — and ``desiredHealthy`` = ceil(percent * expected), or
  expected - maxUnavailable (rounded up when a percentage), at least 0.
- ``currentHealthy``: Ready pods not being deleted and not recently
  evicted (in ``disruptedPods`` for less than `DELETION_TIMEOUT`; entries
  of pods gone, being deleted or older than that are dropped).
- ``disruptionsAllowed`` = max(currentHealthy - desiredHealthy, 0) (0 when
  no pods are expected); condition ``DisruptionAllowed`` True
  ``SufficientPods`` / False ``InsufficientPods``; ``observedGeneration``.
- A controller that cannot be read makes the budget fail safe:
  ``disruptionsAllowed`` 0, condition False ``SyncFailed`` with the error.

The status is written only when it changed, with the budget's
resourceVersion (the eviction subresource decrements it concurrently, so a
conflict re-queues the key). Pod changes queue the budgets selecting the
pod; a budget with recently evicted pods comes back when they expire.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from corral.client import ResourceRef
from corral.controller import NAMESPACE_INDEX, Controller, Informer, Result, set_condition
from corral.kube.context import KubeContext, Runnable
from corral.kube.controllerref import controller_of
from corral.kube.enqueue import enqueue
from corral.kube.intorpercent import scaled_or_zero as scaled
from corral.kube.podstatus import format_time, is_pod_ready, parse_time
from corral.kube.resources import DEPLOYMENTS, PODS, REPLICA_SETS, STATEFUL_SETS
from corral.machinery.labels import Selector, SelectorError, from_label_selector
from corral.machinery.status import StatusError

log = logging.getLogger(__name__)

Obj = dict[str, Any]
PDBS = ResourceRef("policy", "v1", "poddisruptionbudgets", kind="PodDisruptionBudget")
REPLICATION_CONTROLLERS = ResourceRef(
    "", "v1", "replicationcontrollers", kind="ReplicationController"
)
#: How long an evicted pod may take to go before it counts again.
DELETION_TIMEOUT = timedelta(minutes=2)
CONDITION = "DisruptionAllowed"


class SyncFailed(Exception):
    """The budget's expected scale cannot be known."""


def selector_of(pdb: Mapping[str, Any]) -> Selector | None:
    try:
        selector = from_label_selector((pdb.get("spec") or {}).get("selector"))
    except SelectorError:
        return None
    return None if selector.empty else selector


def count_healthy(pods: list[Obj], disrupted: Mapping[str, datetime], now: datetime) -> int:
    healthy = 0
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        when = disrupted.get(str(meta.get("name")))
        if when is not None and when + DELETION_TIMEOUT > now:
            continue
        if is_pod_ready(pod):
            healthy += 1
    return healthy


def disrupted_map(
    pdb: Mapping[str, Any], pods: list[Obj], now: datetime
) -> tuple[dict[str, datetime], datetime | None]:
    """The evictions still pending, and when the first of them expires."""
    recorded = (pdb.get("status") or {}).get("disruptedPods") or {}
    kept: dict[str, datetime] = {}
    recheck: datetime | None = None
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        when = parse_time(recorded.get(meta.get("name")))
        if when is None:
            continue
        expires = when + DELETION_TIMEOUT
        if expires < now:
            log.info("evicted pod was not deleted", extra={"pod": meta.get("name")})
            continue
        kept[str(meta["name"])] = when
        recheck = expires if recheck is None or expires < recheck else recheck
    return kept, recheck


class DisruptionController:
    """Computes one budget's status per pass."""

    def __init__(self, ctx: KubeContext, pods: Informer, workloads: dict[str, Informer]) -> None:
        self.client = ctx.client
        self.pods = pods
        self.workloads = workloads

    def pods_for(self, pdb: Mapping[str, Any]) -> list[Obj]:
        selector = selector_of(pdb)
        if selector is None:
            return []
        namespace = str((pdb.get("metadata") or {}).get("namespace", ""))
        return [
            p
            for p in self.pods.by_index(NAMESPACE_INDEX, namespace)
            if selector.matches((p.get("metadata") or {}).get("labels") or {})
        ]

    async def _scale_of(self, namespace: str, ref: Mapping[str, Any]) -> tuple[str, int]:
        """(uid, replicas) of the top controller of a pod's controller reference."""
        kind, name = ref.get("kind"), str(ref.get("name", ""))
        api_group = str(ref.get("apiVersion", "")).rpartition("/")[0]
        if kind == "ReplicaSet" and api_group == "apps":
            rs = self.workloads["replicasets"].get(f"{namespace}/{name}")
            if rs is None:
                raise SyncFailed(f'replicasets.apps "{name}" not found')
            owner = controller_of(rs)
            if owner is not None and owner.get("kind") == "Deployment":
                deploy = self.workloads["deployments"].get(f"{namespace}/{owner.get('name')}")
                if deploy is not None:
                    return str(deploy["metadata"]["uid"]), _replicas(deploy)
            return str(rs["metadata"]["uid"]), _replicas(rs)
        if kind == "StatefulSet" and api_group == "apps":
            sts = self.workloads["statefulsets"].get(f"{namespace}/{name}")
            if sts is None:
                raise SyncFailed(f'statefulsets.apps "{name}" not found')
            return str(sts["metadata"]["uid"]), _replicas(sts)
        if kind == "ReplicationController" and api_group == "":
            try:
                rc = await self.client.get(REPLICATION_CONTROLLERS, name, namespace=namespace)
            except StatusError as exc:
                raise SyncFailed(str(exc)) from None
            return str(rc["metadata"]["uid"]), _replicas(rc)
        raise SyncFailed(f"found no controllers for pod {name!r} of kind {kind}")

    async def expected_scale(self, pdb: Mapping[str, Any], pods: list[Obj]) -> int:
        namespace = str(pdb["metadata"].get("namespace", ""))
        scales: dict[str, int] = {}
        for pod in pods:
            ref = controller_of(pod)
            if ref is None:
                continue
            uid, replicas = await self._scale_of(namespace, ref)
            scales[uid] = replicas
        return sum(scales.values())

    async def desired(self, pdb: Mapping[str, Any], pods: list[Obj]) -> tuple[int, int]:
        """(expectedPods, desiredHealthy)."""
        spec = pdb.get("spec") or {}
        max_unavailable = spec.get("maxUnavailable")
        min_available = spec.get("minAvailable")
        if max_unavailable is not None:
            expected = await self.expected_scale(pdb, pods)
            return expected, max(expected - scaled(max_unavailable, expected), 0)
        if isinstance(min_available, int) and not isinstance(min_available, bool):
            return len(pods), min_available
        if min_available is not None:
            expected = await self.expected_scale(pdb, pods)
            return expected, scaled(min_available, expected)
        return len(pods), 0

    async def sync(self, key: str, pdb: Obj | None) -> Result | None:
        if pdb is None or (pdb.get("metadata") or {}).get("deletionTimestamp"):
            return None
        now = datetime.now(UTC)
        pods = self.pods_for(pdb)
        new = dict(pdb)
        status = new["status"] = dict(pdb.get("status") or {})
        generation = pdb["metadata"].get("generation")
        recheck: datetime | None = None
        try:
            expected, desired = await self.desired(pdb, pods)
        except SyncFailed as exc:
            status["disruptionsAllowed"] = 0
            set_condition(
                new,
                CONDITION,
                False,
                "SyncFailed",
                str(exc),
                observed_generation=status.get("observedGeneration"),
            )
        else:
            disrupted, recheck = disrupted_map(pdb, pods, now)
            healthy = count_healthy(pods, disrupted, now)
            allowed = healthy - desired if expected > 0 and healthy > desired else 0
            if disrupted:
                status["disruptedPods"] = {k: format_time(v) for k, v in disrupted.items()}
            else:
                status.pop("disruptedPods", None)
            status["disruptionsAllowed"] = allowed
            status["currentHealthy"] = healthy
            status["desiredHealthy"] = desired
            status["expectedPods"] = expected
            status["observedGeneration"] = generation
            set_condition(
                new,
                CONDITION,
                allowed > 0,
                "SufficientPods" if allowed > 0 else "InsufficientPods",
                "",
                observed_generation=generation,
            )
        if new["status"] != (pdb.get("status") or {}):
            await self.client.update(PDBS, new, subresource="status")
        if recheck is not None:
            return Result(requeue_after=max((recheck - now).total_seconds(), 0.1))
        return None


def _replicas(obj: Mapping[str, Any]) -> int:
    replicas = (obj.get("spec") or {}).get("replicas")
    return replicas if isinstance(replicas, int) else 1


def build(ctx: KubeContext) -> list[Runnable]:
    """The ``disruption`` controller."""
    pdbs = ctx.informers.informer(PDBS)
    pods = ctx.informers.informer(PODS)
    workloads = {
        "replicasets": ctx.informers.informer(REPLICA_SETS),
        "deployments": ctx.informers.informer(DEPLOYMENTS),
        "statefulsets": ctx.informers.informer(STATEFUL_SETS),
    }
    controller = Controller("disruption", pdbs, workers=ctx.options.workers)
    controller.on_change("status", DisruptionController(ctx, pods, workloads).sync)

    def budgets_of(pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        labels = meta.get("labels") or {}
        for pdb in pdbs.by_index(NAMESPACE_INDEX, str(meta.get("namespace", ""))):
            selector = selector_of(pdb)
            if selector is not None and selector.matches(labels):
                enqueue(controller, f"{pdb['metadata']['namespace']}/{pdb['metadata']['name']}")

    def pod_changed(old: Obj, new: Obj) -> None:
        budgets_of(old)
        budgets_of(new)

    pods.on_add(budgets_of)
    pods.on_update(pod_changed)
    pods.on_delete(budgets_of)
    return [controller]
