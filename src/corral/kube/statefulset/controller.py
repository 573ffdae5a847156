"""The StatefulSet controller: informers, event routing, claiming pods.

Keyed by StatefulSet. Pod events find their set through the pod's
controller reference (an orphan: every set of its namespace whose selector
matches, for adoption), so a pod turning Ready, failing or disappearing
brings its set back at once — which is how ``OrderedReady`` moves on to the
next ordinal without polling. Each sync claims the set's pods (members named
``<set>-<ordinal>`` only, as Kubernetes' ``isMemberOf`` filter) and hands
them to `corral.kube.statefulset.control`.
"""

from __future__ import annotations

import logging
from typing import Any

from corral.client import Client
from corral.controller import Controller, Informer, Result, object_key
from corral.kube.context import KubeContext
from corral.kube.controllerref import (
    ControllerRefManager,
    claim_candidates,
    controller_of,
    fresh_owner_check,
    index_by_controller,
)
from corral.kube.eventrecorder import EventRecorder
from corral.kube.owners import RecordingRunnable, matching_owners, owner_of, selector_of
from corral.kube.resources import (
    CONTROLLER_REVISIONS,
    PERSISTENT_VOLUME_CLAIMS,
    PODS,
    STATEFUL_SETS,
)
from corral.kube.statefulset import identity as ident
from corral.kube.statefulset.control import StatefulSetSync

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class StatefulSetController(RecordingRunnable):
    """Pods, claims and revisions for StatefulSets; a `Runnable`."""

    def __init__(self, ctx: KubeContext) -> None:
        self.client: Client = ctx.client
        self.sets: Informer = ctx.informers.informer(STATEFUL_SETS)
        self.pods: Informer = ctx.informers.informer(PODS)
        index_by_controller(self.pods)
        revisions = ctx.informers.informer(CONTROLLER_REVISIONS)
        claims = ctx.informers.informer(PERSISTENT_VOLUME_CLAIMS)
        self.events = EventRecorder(self.client, "statefulset-controller")
        self.control = StatefulSetSync(self.client, revisions, claims, self.events)
        self.controller = Controller("statefulset", self.sets, workers=ctx.options.workers)
        self.controller.on_change("sync", self.sync)
        self.pods.on_add(self._pod_changed)
        self.pods.on_update(lambda old, new: self._pod_updated(old, new))
        self.pods.on_delete(self._pod_changed)

    # -- pod events ------------------------------------------------------------

    def _enqueue(self, sts: Obj) -> None:
        try:
            self.controller.queue.add(object_key(sts))
        except Exception:  # a full or stopped queue: the next event brings it back
            log.warning("statefulset: could not queue %s", object_key(sts))

    def _owner(self, pod: Obj) -> Obj | None:
        return owner_of(self.sets, ident.KIND, pod, controller_of(pod))

    def _matching(self, pod: Obj) -> list[Obj]:
        return matching_owners(self.sets, pod)

    def _pod_changed(self, pod: Obj) -> None:
        owner = self._owner(pod)
        if owner is not None:
            self._enqueue(owner)
        elif controller_of(pod) is None:
            for sts in self._matching(pod):
                self._enqueue(sts)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if old is new:
            return
        old_owner = self._owner(old)
        if old_owner is not None and old_owner is not self._owner(new):
            self._enqueue(old_owner)
        self._pod_changed(new)

    # -- the sync --------------------------------------------------------------

    async def sync(self, key: str, sts: Obj | None) -> Result | None:
        if sts is None or ident.meta(sts).get("deletionTimestamp"):
            return None  # being deleted: the garbage collector takes the pods
        selector = selector_of(sts)
        if selector is None or selector.empty:
            log.error("statefulset %s has an invalid selector", key)
            return None
        members = [p for p in claim_candidates(self.pods, sts) if ident.is_member(sts, p)]
        manager = ControllerRefManager(
            self.client,
            PODS,
            sts,
            ident.API_VERSION,
            ident.KIND,
            selector,
            fresh_owner_check(self.client, STATEFUL_SETS, sts),
        )
        pods = await manager.claim(members)
        outcome = await self.control.update(sts, pods)
        if outcome.requeue_after is not None:
            return Result(requeue_after=max(outcome.requeue_after, 1.0))
        return None
