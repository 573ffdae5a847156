"""The ReplicaSet controller: keep ``spec.replicas`` pods matching the selector.

Kubernetes' ``ReplicaSetController``, per ReplicaSet key:

1. **Claim** the active pods of its namespace (`ControllerRefManager`):
   adopt matching orphans, release owned pods whose labels stopped matching.
2. **Manage replicas**, only when the `Expectations` of earlier creations and
   deletions have been observed (so a burst is never repeated): create the
   missing pods from the template in slow-start batches (1, 2, 4…, at most
   500 per sync), or delete the surplus in `podranking` order.
3. **Status**: ``replicas`` (claimed active pods), ``fullyLabeledReplicas``
   (pods carrying every template label), ``readyReplicas``,
   ``availableReplicas`` (ready for ``minReadySeconds``),
   ``observedGeneration``, and the ``ReplicaFailure`` condition (reason
   ``FailedCreate``/``FailedDelete``) while creating or deleting fails.
   When pods are ready but not yet available, the key comes back after
   ``minReadySeconds``.

Pod events find their ReplicaSet through the pod's controller reference
(orphans: every ReplicaSet whose selector matches) and lower the
expectations.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from corral.client import Client
from corral.controller import (
    Informer,
    QueueFullError,
    Result,
    object_key,
    remove_condition,
    set_condition,
)
from corral.kube.context import KubeContext, Runnable
from corral.kube.controllerref import (
    ControllerRefManager,
    claim_candidates,
    controlled_by,
    controller_of,
    controller_ref,
    fresh_owner_check,
    index_by_controller,
)
from corral.kube.enqueue import enqueue, new_controller
from corral.kube.eventrecorder import NORMAL, WARNING, EventRecorder
from corral.kube.expectations import Expectations
from corral.kube.owners import (
    RecordingRunnable,
    labels_of,
    matching_owners,
    owner_of,
    selector_of,
    updated_owners,
    write_status,
)
from corral.kube.podranking import pods_to_delete
from corral.kube.podstatus import is_pod_active, is_pod_available, is_pod_ready
from corral.kube.resources import PODS, REPLICA_SETS
from corral.kube.slowstart import slow_start_batch
from corral.machinery.jsoncopy import json_copy
from corral.machinery.status import NotFound, StatusError

log = logging.getLogger(__name__)

Obj = dict[str, Any]

#: At most this many pods are created or deleted by one sync (``BurstReplicas``).
BURST_REPLICAS = 500
REPLICA_FAILURE = "ReplicaFailure"
#: The status cause of a create refused in a terminating namespace (not a failure).
NAMESPACE_TERMINATING = "NamespaceTerminating"
KIND = "ReplicaSet"
API_VERSION = "apps/v1"


def pod_from_template(owner: Mapping[str, Any], ref: Mapping[str, Any]) -> Obj:
    """``controller.GetPodFromTemplate``: a new pod of ``owner``'s template."""
    template = (owner.get("spec") or {}).get("template") or {}
    tmeta = template.get("metadata") or {}
    meta = owner["metadata"]
    pod_meta: Obj = {
        "generateName": f"{meta['name']}-",
        "namespace": meta.get("namespace", ""),
        "ownerReferences": [dict(ref)],
    }
    for field in ("labels", "annotations", "finalizers"):
        if tmeta.get(field):
            pod_meta[field] = json_copy(tmeta[field])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": pod_meta,
        "spec": json_copy(template.get("spec") or {}),
    }


def compute_status(
    rs: Mapping[str, Any], pods: list[Obj], error: Exception | None, diff: int, now: datetime
) -> Obj:
    """The ReplicaSet's new ``status`` (``calculateStatus``)."""
    spec = rs.get("spec") or {}
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    fully = ready = available = 0
    for pod in pods:
        labels = labels_of(pod)
        if all(labels.get(k) == v for k, v in template_labels.items()):
            fully += 1
        if is_pod_ready(pod):
            ready += 1
            if is_pod_available(pod, min_ready, now):
                available += 1
    status: Obj = json_copy(dict(rs.get("status") or {}))
    holder: Obj = {"status": status}
    status["replicas"] = len(pods)
    for name, value in (
        ("fullyLabeledReplicas", fully),
        ("readyReplicas", ready),
        ("availableReplicas", available),
    ):
        if value:
            status[name] = value
        else:
            status.pop(name, None)
    failure = next(
        (c for c in status.get("conditions") or [] if c.get("type") == REPLICA_FAILURE), None
    )
    if error is not None and failure is None:
        reason = "FailedCreate" if diff < 0 else "FailedDelete"
        set_condition(holder, REPLICA_FAILURE, True, reason, str(error), now=now)
        for cond in status["conditions"]:
            cond.pop("observedGeneration", None)
    elif error is None and failure is not None:
        remove_condition(holder, REPLICA_FAILURE)
        if not status.get("conditions"):
            status.pop("conditions", None)
    return status


class ReplicaSetController(RecordingRunnable):
    """Pods for ReplicaSets; a `Runnable` (with its event recorder)."""

    def __init__(self, ctx: KubeContext) -> None:
        self.client: Client = ctx.client
        self.rs_informer: Informer = ctx.informers.informer(REPLICA_SETS)
        self.pod_informer: Informer = ctx.informers.informer(PODS)
        self.controller = new_controller(ctx, "replicaset", self.rs_informer)
        self.controller.on_change("sync", self.sync)
        self.expectations = Expectations(now=ctx.clock.now)
        self.events = EventRecorder(self.client, "replicaset-controller")
        index_by_controller(self.pod_informer)
        index_by_controller(self.rs_informer)
        self.pod_informer.on_add(self._pod_added)
        self.pod_informer.on_update(self._pod_updated)
        self.pod_informer.on_delete(self._pod_deleted)

    # -- pod events ----------------------------------------------------------

    def _owner(self, pod: Obj, ref: Mapping[str, Any] | None) -> Obj | None:
        return owner_of(self.rs_informer, KIND, pod, ref)

    def _matching(self, pod: Obj) -> list[Obj]:
        """ReplicaSets of the pod's namespace whose (non-empty) selector matches it."""
        return matching_owners(self.rs_informer, pod)

    def _enqueue(self, rs: Obj, after: float = 0) -> None:
        key = object_key(rs)
        if after <= 0:
            enqueue(self.controller, key)
            return
        try:
            self.controller.queue.add_after(key, after)
        except QueueFullError:  # the next event or resync brings it back
            log.warning("replicaset: queue full, %s waits for the next event", key)

    def _pod_added(self, pod: Obj) -> None:
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            self._pod_deleted(pod)
            return
        ref = controller_of(pod)
        if ref is not None:
            rs = self._owner(pod, ref)
            if rs is not None:
                self.expectations.creation_observed(object_key(rs))
                self._enqueue(rs)
            return
        for rs in self._matching(pod):
            self._enqueue(rs)

    def _pod_updated(self, old: Obj, cur: Obj) -> None:
        if old is cur:
            return
        labels_changed = labels_of(old) != labels_of(cur)
        if (cur.get("metadata") or {}).get("deletionTimestamp"):
            self._pod_deleted(cur)
            if labels_changed:
                self._pod_deleted(old)
            return
        previous, rs, candidates = updated_owners(self.rs_informer, KIND, old, cur)
        if previous is not None:
            self._enqueue(previous)
        if rs is not None:
            self._enqueue(rs)
            min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
            if min_ready > 0 and not is_pod_ready(old) and is_pod_ready(cur):
                self._enqueue(rs, after=min_ready + 1)
        for candidate in candidates:
            self._enqueue(candidate)

    def _pod_deleted(self, pod: Obj) -> None:
        rs = self._owner(pod, controller_of(pod))
        if rs is None:
            return
        key = object_key(rs)
        self.expectations.deletion_observed(key, object_key(pod))
        self._enqueue(rs)

    # -- the sync ------------------------------------------------------------

    async def sync(self, key: str, rs: Obj | None) -> Result | None:
        if rs is None:
            self.expectations.forget(key)
            return None
        needs_sync = self.expectations.satisfied(key)
        selector = selector_of(rs)
        if selector is None:
            log.error("replicaset %s has an invalid selector", key)
            return None
        meta = rs["metadata"]
        active = [p for p in claim_candidates(self.pod_informer, rs) if is_pod_active(p)]
        manager = ControllerRefManager(
            self.client,
            PODS,
            rs,
            API_VERSION,
            KIND,
            selector,
            fresh_owner_check(self.client, REPLICA_SETS, rs),
        )
        pods = await manager.claim(active)
        error: Exception | None = None
        replicas = int((rs.get("spec") or {}).get("replicas", 1))
        diff = len(pods) - replicas
        if needs_sync and not meta.get("deletionTimestamp"):
            try:
                await self._manage(key, rs, pods, diff)
            except Exception as exc:
                error = exc
        now = datetime.now(UTC)
        status = compute_status(rs, pods, error, diff, now)
        status["observedGeneration"] = rs["metadata"].get("generation", 0)
        updated = await write_status(self.client, REPLICA_SETS, rs, status, wait_when_stale=True)
        if error is not None:
            raise error
        min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
        new_status = updated.get("status") or {}
        if (
            min_ready > 0
            and new_status.get("readyReplicas", 0) == replicas
            and new_status.get("availableReplicas", 0) != replicas
        ):
            return Result(requeue_after=float(min_ready))
        return None

    async def _manage(self, key: str, rs: Obj, pods: list[Obj], diff: int) -> None:
        if diff < 0:
            await self._create(key, rs, min(-diff, BURST_REPLICAS))
        elif diff > 0:
            await self._delete(key, rs, pods, min(diff, BURST_REPLICAS))

    async def _create(self, key: str, rs: Obj, count: int) -> None:
        self.expectations.expect_creations(key, count)
        ref = controller_ref(rs, API_VERSION, KIND)
        namespace = rs["metadata"].get("namespace", "")

        async def create_one() -> None:
            body = pod_from_template(rs, ref)
            try:
                pod = await self.client.create(PODS, body, namespace=namespace)
            except StatusError as exc:
                if any(c.reason == NAMESPACE_TERMINATING for c in exc.causes):
                    return  # the namespace goes, and its ReplicaSets with it
                self.events.record(rs, WARNING, "FailedCreate", f"Error creating: {exc}")
                raise
            except Exception as exc:
                self.events.record(rs, WARNING, "FailedCreate", f"Error creating: {exc}")
                raise
            name = (pod.get("metadata") or {}).get("name", "")
            self.events.record(rs, NORMAL, "SuccessfulCreate", f"Created pod: {name}")

        successes, error = await slow_start_batch(count, create_one)
        if error is not None:
            skipped = count - successes
            if skipped > 0:
                self.expectations.lower_creations(key, skipped)
            raise error

    async def _delete(self, key: str, rs: Obj, pods: list[Obj], count: int) -> None:
        victims = pods_to_delete(pods, self._related_pods(rs), count)
        self.expectations.expect_deletions(key, [object_key(p) for p in victims])

        async def delete_one(pod: Obj) -> None:
            meta = pod["metadata"]
            try:
                await self.client.delete(PODS, meta["name"], namespace=meta.get("namespace"))
            except NotFound:
                self.expectations.deletion_observed(key, object_key(pod))
                return
            except Exception as exc:
                self.expectations.deletion_observed(key, object_key(pod))
                self.events.record(rs, WARNING, "FailedDelete", f"Error deleting: {exc}")
                raise
            self.events.record(rs, NORMAL, "SuccessfulDelete", f"Deleted pod: {meta['name']}")

        results = await asyncio.gather(*(delete_one(p) for p in victims), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    def _related_pods(self, rs: Obj) -> list[Obj]:
        """Pods of this ReplicaSet and of its siblings (same controller), for ranking."""
        owner = controller_of(rs)
        siblings = [rs] if owner is None else controlled_by(self.rs_informer, owner.get("uid"))
        uids = {(s.get("metadata") or {}).get("uid") for s in [rs, *siblings]}
        return [pod for uid in uids for pod in controlled_by(self.pod_informer, uid)]


def build(ctx: KubeContext) -> list[Runnable]:
    return [ReplicaSetController(ctx)]
