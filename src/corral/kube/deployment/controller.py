"""The Deployment controller: informers, event routing and the per-key sync.

Kubernetes' ``DeploymentController``. A Deployment is synced when it
changes, when one of its ReplicaSets changes (found through the
ReplicaSet's controller reference; orphans through every Deployment whose
selector matches them), and, for ``Recreate``, when one of its old pods is
deleted. The sync claims the namespace's ReplicaSets (adopting orphans,
releasing strays), then hands over to `Rollout` for the steps.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from corral.client import Client
from corral.controller import Informer, Result, object_key
from corral.kube.context import KubeContext
from corral.kube.controllerref import (
    ControllerRefManager,
    claim_candidates,
    controlled_by,
    controller_of,
    fresh_owner_check,
    index_by_controller,
)
from corral.kube.deployment import util
from corral.kube.deployment.rollout import Rollout
from corral.kube.enqueue import enqueue, new_controller
from corral.kube.eventrecorder import WARNING, EventRecorder
from corral.kube.owners import (
    RecordingRunnable,
    matching_owners,
    owner_of,
    selector_of,
    updated_owners,
)
from corral.kube.resources import DEPLOYMENTS, PODS, REPLICA_SETS
from corral.machinery.jsoncopy import json_copy
from corral.machinery.status import Conflict, NotFound

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class DeploymentController(RecordingRunnable):
    """ReplicaSets for Deployments; a `Runnable` (with its event recorder)."""

    def __init__(self, ctx: KubeContext) -> None:
        self.client: Client = ctx.client
        self.d_informer: Informer = ctx.informers.informer(DEPLOYMENTS)
        self.rs_informer: Informer = ctx.informers.informer(REPLICA_SETS)
        self.pod_informer: Informer = ctx.informers.informer(PODS)
        index_by_controller(self.rs_informer)
        index_by_controller(self.pod_informer)
        self.controller = new_controller(ctx, "deployment", self.d_informer)
        self.controller.on_change("sync", self.sync)
        self.events = EventRecorder(self.client, "deployment-controller")
        self.rs_informer.on_add(self._rs_added)
        self.rs_informer.on_update(self._rs_updated)
        self.rs_informer.on_delete(self._rs_deleted)
        self.pod_informer.on_delete(self._pod_deleted)

    # -- routing events to Deployment keys -------------------------------------------

    def _enqueue(self, d: Obj) -> None:
        enqueue(self.controller, object_key(d))

    def _owner(self, obj: Obj, ref: Mapping[str, Any] | None) -> Obj | None:
        return owner_of(self.d_informer, "Deployment", obj, ref)

    def _matching(self, rs: Obj) -> list[Obj]:
        return matching_owners(self.d_informer, rs)

    def _rs_added(self, rs: Obj) -> None:
        if util.meta(rs).get("deletionTimestamp"):
            self._rs_deleted(rs)
            return
        ref = controller_of(rs)
        if ref is not None:
            d = self._owner(rs, ref)
            if d is not None:
                self._enqueue(d)
            return
        for d in self._matching(rs):
            self._enqueue(d)

    def _rs_updated(self, old: Obj, cur: Obj) -> None:
        if old is cur:
            return
        previous, d, candidates = updated_owners(self.d_informer, "Deployment", old, cur)
        for owner in (previous, d, *candidates):
            if owner is not None:
                self._enqueue(owner)

    def _rs_deleted(self, rs: Obj) -> None:
        d = self._owner(rs, controller_of(rs))
        if d is not None:
            self._enqueue(d)

    def _pod_deleted(self, pod: Obj) -> None:
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        namespace = util.meta(pod).get("namespace", "")
        rs = self.rs_informer.get(f"{namespace}/{ref.get('name')}")
        if rs is None:
            return
        d = self._owner(rs, controller_of(rs))
        if d is not None and not util.is_rolling_update(d):
            self._enqueue(d)

    # -- the sync ---------------------------------------------------------------------

    async def _get_rs(self, namespace: str, name: str) -> Obj | None:
        cached = self.rs_informer.get(f"{namespace}/{name}")
        if cached is not None:
            return cached
        try:
            found: Obj = await self.client.get(REPLICA_SETS, name, namespace=namespace)
        except NotFound:
            return None
        return found

    async def sync(self, key: str, d: Obj | None) -> Result | None:
        if d is None:
            return None
        now = datetime.now(UTC)
        selector = selector_of(d)
        if selector is None:
            log.error("deployment %s has an invalid selector", key)
            return None
        if selector.empty:
            self.events.record(d, WARNING, "SelectingAll", "This deployment is selecting all pods.")
            if util.status(d).get("observedGeneration", 0) < util.meta(d).get("generation", 0):
                body = json_copy(d)
                body.setdefault("status", {})["observedGeneration"] = util.meta(d)["generation"]
                await self.client.update(DEPLOYMENTS, body, subresource="status")
            return None
        manager = ControllerRefManager(
            self.client,
            REPLICA_SETS,
            d,
            "apps/v1",
            "Deployment",
            selector,
            fresh_owner_check(self.client, DEPLOYMENTS, d),
        )
        rss = await manager.claim(claim_candidates(self.rs_informer, d))
        pods_by_rs: dict[str, list[Obj]] = {}
        if not util.is_rolling_update(d):
            for rs in rss:
                uid = str(util.meta(rs).get("uid") or "")
                pods_by_rs[uid] = controlled_by(self.pod_informer, uid)
        rollout = Rollout(self.client, self.events, d, rss, pods_by_rs, now, self._get_rs)
        try:
            await self._steps(rollout)
        except Conflict as exc:
            # Our copy of the Deployment or of a ReplicaSet was stale. The informer
            # brings the newer version and with it this key again: no error, no
            # back-off (Kubernetes logs these and requeues too).
            log.debug("deployment %s: %s; waiting for the newer version", key, exc)
            return None
        if rollout.requeue_after is not None:
            return Result(requeue_after=rollout.requeue_after)
        return None

    async def _steps(self, rollout: Rollout) -> None:
        """``syncDeployment`` after the ReplicaSets are claimed."""
        if util.meta(rollout.d).get("deletionTimestamp"):
            new, old = await rollout.all_rss_and_sync_revision(create=False)
            await rollout.sync_status(new, old)
            return
        await rollout.check_paused_conditions()
        if util.spec(rollout.d).get("paused") or await rollout.is_scaling_event():
            await rollout.sync_scaling()
        elif util.is_rolling_update(rollout.d):
            await rollout.rolling()
        else:
            await rollout.recreate()
