"""The DaemonSet controller: informers, event routing, history and the writes of a sync.

Keyed by DaemonSet. Node events (added, removed, labels, taints, conditions
changed) bring back every DaemonSet, so daemons follow nodes; pod events
find their DaemonSet by controller reference (orphans: every DaemonSet whose
selector matches) and settle the `Expectations` of earlier creations and
deletions, so a sync never repeats a burst the informer has not shown yet.

A sync: claim the pods, find or create the ControllerRevision of the current
template (its hash is the template hash; an older equal revision is
renumbered — a rollback), then `plan.manage` and, when nothing else is in
flight, `plan.rolling_update`; delete revisions beyond
``revisionHistoryLimit`` that no pod uses; write the status.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from corral.client import Client
from corral.controller import NAMESPACE_INDEX, Controller, Informer, Result, object_key
from corral.kube.context import KubeContext
from corral.kube.controllerref import (
    ControllerRefManager,
    claim_candidates,
    controller_of,
    fresh_owner_check,
    index_by_controller,
)
from corral.kube.daemonset import plan
from corral.kube.daemonset.placement import (
    API_VERSION,
    KIND,
    meta,
    new_pod,
    pod_template,
    spec,
    target_node,
)
from corral.kube.eventrecorder import NORMAL, WARNING, EventRecorder
from corral.kube.expectations import Expectations
from corral.kube.owners import (
    RecordingRunnable,
    matching_owners,
    owner_of,
    selector_of,
    write_status,
)
from corral.kube.podstatus import is_pod_available, is_pod_ready
from corral.kube.resources import CONTROLLER_REVISIONS, DAEMON_SETS, NODES, PODS
from corral.kube.revisions import (
    POD_REVISION_LABEL,
    History,
    equal_revisions,
    new_revision,
    next_revision,
    revision_number,
    revisions_to_delete,
    sort_revisions,
    template_patch,
)
from corral.kube.slowstart import slow_start_batch
from corral.kube.templatehash import compute_hash
from corral.machinery.status import NotFound

log = logging.getLogger(__name__)

Obj = dict[str, Any]

BURST_REPLICAS = 250
DEFAULT_HISTORY_LIMIT = 10


def _node_view(node: Mapping[str, Any]) -> tuple[Any, ...]:
    """What of a node decides placement (labels, taints, conditions, unschedulable)."""
    status = node.get("status") or {}
    conditions = [(c.get("type"), c.get("status")) for c in status.get("conditions") or []]
    return (
        meta(node).get("labels"),
        spec(node).get("taints"),
        spec(node).get("unschedulable"),
        conditions,
    )


class DaemonSetController(RecordingRunnable):
    """Daemon pods on eligible nodes; a `Runnable`."""

    def __init__(self, ctx: KubeContext) -> None:
        self.client: Client = ctx.client
        self.sets: Informer = ctx.informers.informer(DAEMON_SETS)
        self.pods: Informer = ctx.informers.informer(PODS)
        index_by_controller(self.pods)
        self.nodes: Informer = ctx.informers.informer(NODES)
        self.revisions: Informer = ctx.informers.informer(CONTROLLER_REVISIONS)
        self.history = History(self.client)
        # Creations and deletions are expected separately (one sync may do both).
        self.creations = Expectations()
        self.deletions = Expectations()
        self.events = EventRecorder(self.client, "daemonset-controller")
        self.controller = Controller("daemonset", self.sets, workers=ctx.options.workers)
        self.controller.on_change("sync", self.sync)
        self.pods.on_add(self._pod_added)
        self.pods.on_update(self._pod_updated)
        self.pods.on_delete(self._pod_deleted)
        self.nodes.on_add(lambda _node: self._enqueue_all())
        self.nodes.on_update(self._node_updated)
        self.nodes.on_delete(lambda _node: self._enqueue_all())

    # -- events ----------------------------------------------------------------

    def _enqueue(self, ds: Obj, after: float = 0) -> None:
        key = object_key(ds)
        try:
            if after > 0:
                self.controller.queue.add_after(key, after)
            else:
                self.controller.queue.add(key)
        except Exception:  # a full or stopped queue: the next event brings it back
            log.warning("daemonset: could not queue %s", key)

    def _enqueue_all(self) -> None:
        for ds in self.sets.indexer.list():
            self._enqueue(ds)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if old is new or _node_view(old) != _node_view(new):
            self._enqueue_all()

    def _owner(self, pod: Obj) -> Obj | None:
        return owner_of(self.sets, KIND, pod, controller_of(pod))

    def _matching(self, pod: Obj) -> list[Obj]:
        return matching_owners(self.sets, pod)

    def _pod_added(self, pod: Obj) -> None:
        if meta(pod).get("deletionTimestamp"):
            self._pod_deleted(pod)
            return
        ds = self._owner(pod)
        if ds is not None:
            self.creations.creation_observed(object_key(ds))
            self._enqueue(ds)
        elif controller_of(pod) is None:
            for found in self._matching(pod):
                self._enqueue(found)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if old is new:
            return
        ds = self._owner(new)
        if ds is None:
            previous = self._owner(old)
            if previous is not None:
                self._enqueue(previous)
            if controller_of(new) is None:
                for found in self._matching(new):
                    self._enqueue(found)
            return
        if meta(new).get("deletionTimestamp") and not meta(old).get("deletionTimestamp"):
            self.deletions.deletion_observed(object_key(ds), object_key(new))
        self._enqueue(ds)
        min_ready = int(spec(ds).get("minReadySeconds") or 0)
        if min_ready > 0 and not is_pod_ready(old) and is_pod_ready(new):
            self._enqueue(ds, after=min_ready + 1)

    def _pod_deleted(self, pod: Obj) -> None:
        ds = self._owner(pod)
        if ds is not None:
            self.deletions.deletion_observed(object_key(ds), object_key(pod))
            self._enqueue(ds)

    def _satisfied(self, key: str) -> bool:
        return self.creations.satisfied(key) and self.deletions.satisfied(key)

    # -- history ---------------------------------------------------------------

    def _owned_revisions(self, ds: Obj) -> list[Obj]:
        uid = meta(ds).get("uid")
        found = []
        for rev in self.revisions.by_index(NAMESPACE_INDEX, meta(ds).get("namespace", "")):
            ref = controller_of(rev)
            if ref is not None and ref.get("uid") == uid:
                found.append(rev)
        return sort_revisions(found)

    async def _construct_history(self, ds: Obj) -> tuple[Obj, list[Obj], str, int]:
        """(current revision, every owned revision, hash, collisionCount)."""
        revisions = self._owned_revisions(ds)
        collision = int((ds.get("status") or {}).get("collisionCount") or 0)
        labels = dict(((spec(ds).get("template") or {}).get("metadata") or {}).get("labels") or {})
        data = template_patch(ds)
        number = next_revision(revisions)

        def candidate(count: int) -> Obj:
            hash_ = compute_hash(spec(ds).get("template") or {}, count)
            return new_revision(ds, KIND, labels, data, number, hash_, POD_REVISION_LABEL)

        wanted = candidate(collision)
        equal = [r for r in revisions if equal_revisions(r, wanted)]
        if equal:
            current = equal[-1]
            if revision_number(current) < max(revision_number(r) for r in revisions):
                renumbered = await self.history.renumber(current, number)
                revisions = [r for r in revisions if r is not current] + [renumbered]
                current = renumbered
        else:
            current, collision = await self.history.create(wanted, collision, candidate)
            if all(meta(r)["name"] != meta(current)["name"] for r in revisions):
                revisions.append(current)
        hash_ = str((meta(current).get("labels") or {}).get(POD_REVISION_LABEL) or "")
        if not hash_:
            hash_ = meta(current)["name"].rsplit("-", 1)[-1]
        return current, revisions, hash_, collision

    async def _cleanup_history(
        self, ds: Obj, pods: list[Obj], revisions: list[Obj], current: Obj
    ) -> None:
        live_hashes = {(meta(p).get("labels") or {}).get(POD_REVISION_LABEL) for p in pods}
        keep = {meta(current)["name"]}
        for rev in revisions:
            if (meta(rev).get("labels") or {}).get(POD_REVISION_LABEL) in live_hashes:
                keep.add(meta(rev)["name"])
        limit = spec(ds).get("revisionHistoryLimit")
        limit = limit if isinstance(limit, int) else DEFAULT_HISTORY_LIMIT
        for rev in revisions_to_delete(revisions, keep, limit):
            await self.history.delete(rev)

    # -- the sync --------------------------------------------------------------

    async def sync(self, key: str, ds: Obj | None) -> Result | None:
        if ds is None:
            self.creations.forget(key)
            self.deletions.forget(key)
            return None
        if meta(ds).get("deletionTimestamp"):
            return None  # being deleted: the garbage collector takes the pods
        selector = selector_of(ds)
        if selector is None or selector.empty:
            log.error("daemonset %s has an invalid selector", key)
            return None
        manager = ControllerRefManager(
            self.client,
            PODS,
            ds,
            API_VERSION,
            KIND,
            selector,
            fresh_owner_check(self.client, DAEMON_SETS, ds),
        )
        pods = await manager.claim(claim_candidates(self.pods, ds))
        by_node: dict[str, list[Obj]] = {}
        for pod in pods:
            by_node.setdefault(target_node(pod), []).append(pod)
        nodes = self.nodes.indexer.list()
        current, revisions, hash_, collision = await self._construct_history(ds)
        template = pod_template(ds, hash_)
        now = datetime.now(UTC)
        error: Exception | None = None
        if self._satisfied(key):
            try:
                todo = plan.manage(ds, template, nodes, by_node, hash_, now)
                if not todo.create_on and not todo.delete and plan.is_rolling_update(ds):
                    todo = plan.rolling_update(ds, template, nodes, by_node, hash_, now)
                await self._apply(key, ds, template, todo)
            except Exception as exc:
                error = exc
        await self._cleanup_history(ds, pods, revisions, current)
        counts = plan.compute_status(ds, template, nodes, by_node, hash_, now)
        status = {
            **(ds.get("status") or {}),
            **counts,
            "observedGeneration": int(meta(ds).get("generation") or 0),
        }
        if collision:
            status["collisionCount"] = collision
        await write_status(self.client, DAEMON_SETS, ds, status)
        if error is not None:
            raise error
        min_ready = int(spec(ds).get("minReadySeconds") or 0)
        if min_ready > 0 and any(
            is_pod_ready(p) and not is_pod_available(p, min_ready, now) for p in pods
        ):
            return Result(requeue_after=float(min_ready))
        return None

    async def _apply(self, key: str, ds: Obj, template: Obj, todo: plan.Plan) -> None:
        create_on = todo.create_on[:BURST_REPLICAS]
        victims = todo.delete[:BURST_REPLICAS]
        self.creations.expect_creations(key, len(create_on))
        self.deletions.expect_deletions(key, [object_key(p) for p in victims])
        namespace = meta(ds).get("namespace", "")
        nodes = iter(create_on)

        async def create_one() -> None:
            node = next(nodes)
            body = new_pod(ds, template, node)
            try:
                pod = await self.client.create(PODS, body, namespace=namespace)
            except Exception as exc:
                self.events.record(ds, WARNING, "FailedCreate", f"Error creating: {exc}")
                raise
            self.events.record(
                ds, NORMAL, "SuccessfulCreate", f"Created pod: {meta(pod).get('name', '')}"
            )

        async def delete_one(pod: Obj) -> None:
            name = meta(pod)["name"]
            try:
                await self.client.delete(PODS, name, namespace=namespace)
            except NotFound:
                self.deletions.deletion_observed(key, object_key(pod))
                return
            except Exception as exc:
                self.deletions.deletion_observed(key, object_key(pod))
                self.events.record(ds, WARNING, "FailedDelete", f"Error deleting: {exc}")
                raise
            self.events.record(ds, NORMAL, "SuccessfulDelete", f"Deleted pod: {name}")

        results = await asyncio.gather(*(delete_one(p) for p in victims), return_exceptions=True)
        successes, error = await slow_start_batch(len(create_on), create_one)
        if successes < len(create_on):
            self.creations.lower_creations(key, len(create_on) - successes)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        if error is not None:
            raise error
