"""One pass of the Deployment controller over one Deployment (``syncDeployment``).

`Rollout` holds the Deployment as last written (each status or annotation
write replaces it, so the next write carries the fresh resourceVersion) and
does Kubernetes' steps in Kubernetes' order:

- paused: only **scale** (proportionally), clean up old ReplicaSets, status;
- a scaling event (an active ReplicaSet's ``desired-replicas`` differs from
  ``spec.replicas``): **scale** only;
- otherwise **RollingUpdate** (grow the new ReplicaSet within ``maxSurge``,
  shrink old ones within ``maxUnavailable``, unhealthy replicas first) or
  **Recreate** (old ReplicaSets to zero, wait for their pods to go, then the
  new one);
- the ``Progressing`` condition, the progress deadline, and the requeue
  that notices a deadline passing without any event.

The Deployment's own ``revision`` annotation is written with a metadata
merge patch: Corral's status subresource keeps all metadata, while
Kubernetes' lets status writers change annotations.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import datetime
from typing import Any

from corral.client import Client
from corral.kube.controllerref import controller_of, controller_ref
from corral.kube.deployment import util
from corral.kube.eventrecorder import NORMAL, WARNING, EventRecorder
from corral.kube.podstatus import parse_time
from corral.kube.resources import DEPLOYMENTS, REPLICA_SETS
from corral.kube.templatehash import POD_TEMPLATE_HASH_LABEL, compute_hash, equal_ignore_hash
from corral.machinery.jsoncopy import json_copy
from corral.machinery.status import AlreadyExists, Forbidden, NotFound

log = logging.getLogger(__name__)

Obj = dict[str, Any]
GetReplicaSet = Callable[[str, str], Awaitable[Obj | None]]


class Rollout:
    """The steps of one sync; ``requeue_after`` is set when a deadline must be re-checked."""

    def __init__(
        self,
        client: Client,
        events: EventRecorder,
        d: Obj,
        rss: list[Obj],
        pods_by_rs: dict[str, list[Obj]],
        now: datetime,
        get_rs: GetReplicaSet,
    ) -> None:
        self.client = client
        self.events = events
        self.d = json_copy(d)
        self.rss = [json_copy(rs) for rs in rss]
        self.pods_by_rs = pods_by_rs
        self.now = now
        self.get_rs = get_rs
        self.requeue_after: float | None = None

    # -- writes ----------------------------------------------------------------

    async def write_status(self, new_status: Obj) -> None:
        body = json_copy(self.d)
        body["status"] = util.clean_status(new_status)
        self.d = await self.client.update(DEPLOYMENTS, body, subresource="status")

    async def set_revision(self, rev: str) -> bool:
        """``SetDeploymentRevision``, written at once (a metadata patch)."""
        if util.annotations_of(self.d).get(util.REVISION) == rev:
            return False
        m = self.d["metadata"]
        patch = {"metadata": {"annotations": {util.REVISION: rev}}}
        updated = await self.client.patch(
            DEPLOYMENTS, m["name"], patch, namespace=m.get("namespace")
        )
        updated["status"] = self.d.get("status") or {}
        self.d = updated
        return True

    async def update_rs(self, rs: Obj) -> Obj:
        updated: Obj = await self.client.update(REPLICA_SETS, rs)
        self._replace(updated)
        return updated

    def _replace(self, rs: Obj) -> None:
        uid = util.meta(rs).get("uid")
        self.rss = [rs if util.meta(r).get("uid") == uid else r for r in self.rss]

    # -- finding the ReplicaSets --------------------------------------------------

    def old_and_new(self) -> tuple[Obj | None, list[Obj]]:
        new = util.find_new(self.d, self.rss)
        new_uid = util.meta(new).get("uid") if new is not None else None
        old = [rs for rs in self.rss if util.meta(rs).get("uid") != new_uid]
        return new, old

    async def all_rss_and_sync_revision(self, create: bool) -> tuple[Obj | None, list[Obj]]:
        """``getAllReplicaSetsAndSyncRevision``: (new or None, every old one)."""
        _, old = self.old_and_new()
        new = await self.new_rs(old, create)
        _, old = self.old_and_new()
        return new, old

    async def new_rs(self, old: list[Obj], create: bool) -> Obj | None:
        """``getNewReplicaSet``: find (and update the annotations of) or create it."""
        existing = util.find_new(self.d, self.rss)
        new_revision = str(util.max_revision(old) + 1)
        d = self.d
        if existing is not None:
            rs = json_copy(existing)
            changed = util.set_new_rs_annotations(d, rs, new_revision, True)
            min_ready = util.spec(d).get("minReadySeconds", 0) or 0
            if changed or (util.spec(rs).get("minReadySeconds", 0) or 0) != min_ready:
                rs["spec"]["minReadySeconds"] = min_ready
                return await self.update_rs(rs)
            await self.set_revision(util.annotations_of(rs).get(util.REVISION, ""))
            st = json_copy(util.status(self.d))
            if util.has_progress_deadline(d) and util.get_condition(st, util.PROGRESSING) is None:
                msg = f'Found new replica set "{util.meta(rs)["name"]}"'
                util.set_condition(
                    st,
                    util.new_condition(
                        util.PROGRESSING, "True", util.FOUND_NEW_RS_REASON, msg, self.now
                    ),
                )
                await self.write_status(st)
            return existing
        if not create:
            return None
        return await self._create_new_rs(old, new_revision)

    async def _create_new_rs(self, old: list[Obj], new_revision: str) -> Obj | None:
        d = self.d
        dmeta = util.meta(d)
        template = json_copy(util.spec(d).get("template") or {})
        collisions = util.status(d).get("collisionCount")
        pod_hash = compute_hash(template, collisions)
        template.setdefault("metadata", {})
        labels = dict(template["metadata"].get("labels") or {})
        labels[POD_TEMPLATE_HASH_LABEL] = pod_hash
        template["metadata"]["labels"] = labels
        selector = json_copy(util.spec(d).get("selector") or {})
        match = dict(selector.get("matchLabels") or {})
        match[POD_TEMPLATE_HASH_LABEL] = pod_hash
        selector["matchLabels"] = match
        name = f"{dmeta['name']}-{pod_hash}"
        rs: Obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": dmeta.get("namespace", ""),
                "ownerReferences": [controller_ref(d, "apps/v1", "Deployment")],
                "labels": dict(labels),
            },
            "spec": {
                "replicas": 0,
                "minReadySeconds": util.spec(d).get("minReadySeconds", 0) or 0,
                "selector": selector,
                "template": template,
            },
        }
        count = util.new_rs_new_replicas(d, [*old, rs], rs)
        rs["spec"]["replicas"] = count
        util.set_new_rs_annotations(d, rs, new_revision, False)
        already = False
        try:
            created: Obj = await self.client.create(REPLICA_SETS, rs)
        except AlreadyExists:
            found = await self.get_rs(dmeta.get("namespace", ""), name)
            ref = controller_of(found) if found is not None else None
            if (
                found is not None
                and ref is not None
                and ref.get("uid") == dmeta.get("uid")
                and equal_ignore_hash(
                    util.spec(d).get("template") or {}, util.spec(found).get("template") or {}
                )
            ):
                created, already = found, True
            else:
                # A hash collision: another template owns the name; try the next count.
                st = json_copy(util.status(d))
                st["collisionCount"] = int(collisions or 0) + 1
                await self.write_status(st)
                raise
        except (NotFound, Forbidden):
            raise  # the namespace is gone or terminating: nothing to report
        except Exception as exc:
            if util.has_progress_deadline(d):
                msg = f'Failed to create new replica set "{name}": {exc}'
                st = json_copy(util.status(d))
                util.set_condition(
                    st,
                    util.new_condition(
                        util.PROGRESSING, "False", util.FAILED_RS_CREATE_REASON, msg, self.now
                    ),
                )
                try:
                    await self.write_status(st)
                except Exception:
                    log.exception("deployment status update failed")
            self.events.record(d, WARNING, util.FAILED_RS_CREATE_REASON, str(exc))
            raise
        if all(util.meta(r).get("uid") != util.meta(created).get("uid") for r in self.rss):
            self.rss.append(created)
        if not already and count > 0:
            self.events.record(
                d,
                NORMAL,
                "ScalingReplicaSet",
                f"Scaled up replica set {name} from 0 to {count}",
            )
        await self.set_revision(new_revision)
        if not already and util.has_progress_deadline(self.d):
            msg = f'Created new replica set "{name}"'
            st = json_copy(util.status(self.d))
            util.set_condition(
                st, util.new_condition(util.PROGRESSING, "True", util.NEW_RS_REASON, msg, self.now)
            )
            await self.write_status(st)
        return created

    # -- scaling ---------------------------------------------------------------------

    async def scale_rs(self, rs: Obj, new_scale: int, operation: str = "") -> tuple[bool, Obj]:
        """``scaleReplicaSet``: write the size and the replicas annotations if needed."""
        d = self.d
        desired, maximum = util.replicas(d), util.replicas(d) + util.max_surge(d)
        size_changes = util.replicas(rs) != new_scale
        if not size_changes and not util.replicas_annotations_need_update(rs, desired, maximum):
            return False, rs
        old_scale = util.replicas(rs)
        body = json_copy(rs)
        body["spec"]["replicas"] = new_scale
        util.set_replicas_annotations(body, desired, maximum)
        updated = await self.update_rs(body)
        if size_changes:
            if not operation:
                operation = "up" if new_scale > old_scale else "down"
            self.events.record(
                d,
                NORMAL,
                "ScalingReplicaSet",
                f"Scaled {operation} replica set {util.meta(rs)['name']} "
                f"from {old_scale} to {new_scale}",
            )
        return size_changes, updated

    async def scale_to(self, rs: Obj, new_scale: int) -> tuple[bool, Obj]:
        """``scaleReplicaSetAndRecordEvent``."""
        if util.replicas(rs) == new_scale:
            return False, rs
        return await self.scale_rs(rs, new_scale)

    async def scale(self, new: Obj | None, old: list[Obj]) -> None:
        """``scale``: a new ``spec.replicas`` shared among the active ReplicaSets."""
        d = self.d
        want = util.replicas(d)
        latest = _active_or_latest(new, old)
        if latest is not None:
            if util.replicas(latest) != want:
                await self.scale_to(latest, want)
            return
        if util.is_saturated(d, new):
            for rs in util.active(old):
                await self.scale_to(rs, 0)
            return
        if not util.is_rolling_update(d):
            return
        rss = util.active([*old, new])
        allowed = want + util.max_surge(d) if want > 0 else 0
        to_add = allowed - util.sum_spec(rss)
        operation = ""
        if to_add > 0:
            rss, operation = util.by_size_newer(rss), "up"
        elif to_add < 0:
            rss, operation = util.by_size_older(rss), "down"
        added = 0
        sizes: dict[str, int] = {}
        for rs in rss:
            name = util.meta(rs)["name"]
            if to_add != 0:
                part = util.proportion(d, rs, to_add, added)
                sizes[name] = util.replicas(rs) + part
                added += part
            else:
                sizes[name] = util.replicas(rs)
        for i, rs in enumerate(rss):
            name = util.meta(rs)["name"]
            if i == 0 and to_add != 0:
                sizes[name] = max(sizes[name] + to_add - added, 0)
            await self.scale_rs(rs, sizes[name], operation)

    async def cleanup(self, old: list[Obj]) -> None:
        """``cleanupDeployment``: delete the oldest idle ReplicaSets beyond the history limit."""
        limit = util.spec(self.d).get("revisionHistoryLimit")
        if not isinstance(limit, int):
            return
        alive = [rs for rs in old if not util.meta(rs).get("deletionTimestamp")]
        diff = len(alive) - limit
        if diff <= 0:
            return
        for rs in util.by_revision(alive)[:diff]:
            rmeta = util.meta(rs)
            if (
                util.status_int(rs, "replicas") != 0
                or util.replicas(rs) != 0
                or rmeta.get("generation", 0) > util.status_int(rs, "observedGeneration")
            ):
                continue
            with suppress(NotFound):
                await self.client.delete(REPLICA_SETS, rmeta["name"], namespace=rmeta["namespace"])
            self.rss = [r for r in self.rss if util.meta(r).get("uid") != rmeta.get("uid")]

    # -- status -------------------------------------------------------------------

    async def sync_status(self, new: Obj | None, old: list[Obj]) -> None:
        """``syncDeploymentStatus``."""
        st = util.calculate_status(self.d, [*old, new], new, self.now)
        if util.clean_status(st) != util.clean_status(util.status(self.d)):
            await self.write_status(st)

    async def sync_rollout_status(self, new: Obj | None, old: list[Obj]) -> None:
        """``syncRolloutStatus``: status plus the Progressing and ReplicaFailure conditions."""
        d = self.d
        st = util.calculate_status(d, [*old, new], new, self.now)
        if not util.has_progress_deadline(d):
            util.remove_condition(st, util.PROGRESSING)
        current = util.get_condition(util.status(d), util.PROGRESSING)
        complete_before = (
            st.get("replicas") == st.get("updatedReplicas")
            and current is not None
            and current.get("reason") == util.NEW_RS_AVAILABLE_REASON
        )
        name = util.meta(d)["name"]
        subject = (
            f'ReplicaSet "{util.meta(new)["name"]}"' if new is not None else f'Deployment "{name}"'
        )
        if util.has_progress_deadline(d) and not complete_before:
            if util.deployment_complete(d, st):
                util.set_condition(
                    st,
                    util.new_condition(
                        util.PROGRESSING,
                        "True",
                        util.NEW_RS_AVAILABLE_REASON,
                        f"{subject} has successfully progressed.",
                        self.now,
                    ),
                )
            elif util.deployment_progressing(d, st):
                cond = util.new_condition(
                    util.PROGRESSING,
                    "True",
                    util.RS_UPDATED_REASON,
                    f"{subject} is progressing.",
                    self.now,
                )
                if current is not None:
                    if current.get("status") == "True":
                        cond["lastTransitionTime"] = current.get("lastTransitionTime")
                    util.remove_condition(st, util.PROGRESSING)
                util.set_condition(st, cond)
            elif util.deployment_timed_out(d, st, self.now):
                util.set_condition(
                    st,
                    util.new_condition(
                        util.PROGRESSING,
                        "False",
                        util.TIMED_OUT_REASON,
                        f"{subject} has timed out progressing.",
                        self.now,
                    ),
                )
        failures = _replica_failures([*old, new], new)
        if failures:
            util.set_condition(st, failures[0])
        else:
            util.remove_condition(st, util.REPLICA_FAILURE)
        if util.clean_status(st) == util.clean_status(util.status(d)):
            self._requeue_if_stuck(st)
            return
        await self.write_status(st)

    def _requeue_if_stuck(self, st: Obj) -> None:
        d = self.d
        current = util.get_condition(util.status(d), util.PROGRESSING)
        if not util.has_progress_deadline(d) or current is None:
            return
        if util.deployment_complete(d, st) or current.get("reason") == util.TIMED_OUT_REASON:
            return
        since = parse_time(current.get("lastUpdateTime"))
        if since is None:
            return
        deadline = int(util.spec(d)["progressDeadlineSeconds"])
        after = since.timestamp() + deadline - self.now.timestamp()
        self.requeue_after = 0.5 if after < 1 else after + 1

    async def check_paused_conditions(self) -> None:
        d = self.d
        if not util.has_progress_deadline(d):
            return
        cond = util.get_condition(util.status(d), util.PROGRESSING)
        if cond is not None and cond.get("reason") == util.TIMED_OUT_REASON:
            return
        paused_cond = cond is not None and cond.get("reason") == util.PAUSED_REASON
        paused = bool(util.spec(d).get("paused"))
        st = json_copy(util.status(d))
        if paused and not paused_cond:
            reason, message = util.PAUSED_REASON, "Deployment is paused"
        elif not paused and paused_cond:
            reason, message = util.RESUMED_REASON, "Deployment is resumed"
        else:
            return
        util.set_condition(
            st, util.new_condition(util.PROGRESSING, "Unknown", reason, message, self.now)
        )
        await self.write_status(st)

    # -- the strategies -----------------------------------------------------------

    async def sync_scaling(self) -> None:
        """``sync``: paused or a scaling event."""
        new, old = await self.all_rss_and_sync_revision(create=False)
        await self.scale(new, old)
        new, old = self.old_and_new()
        if util.spec(self.d).get("paused"):
            await self.cleanup(old)
            new, old = self.old_and_new()
        await self.sync_status(new, old)

    async def is_scaling_event(self) -> bool:
        new, old = await self.all_rss_and_sync_revision(create=False)
        for rs in util.active([*old, new]):
            desired = util.int_annotation(rs, util.DESIRED_REPLICAS)
            if desired is not None and desired != util.replicas(self.d):
                return True
        return False

    async def rolling(self) -> None:
        """``rolloutRolling``."""
        new, old = await self.all_rss_and_sync_revision(create=True)
        assert new is not None
        if await self.reconcile_new(new, old):
            await self.sync_rollout_status(*self.old_and_new())
            return
        new2, old = self.old_and_new()
        assert new2 is not None
        if await self.reconcile_old(new2, old):
            await self.sync_rollout_status(*self.old_and_new())
            return
        if util.deployment_complete(self.d, util.status(self.d)):
            await self.cleanup(old)
        await self.sync_rollout_status(*self.old_and_new())

    async def reconcile_new(self, new: Obj, old: list[Obj]) -> bool:
        want = util.replicas(self.d)
        if util.replicas(new) == want:
            return False
        if util.replicas(new) > want:
            scaled, _ = await self.scale_to(new, want)
            return scaled
        count = util.new_rs_new_replicas(self.d, [*old, new], new)
        scaled, _ = await self.scale_to(new, count)
        return scaled

    async def reconcile_old(self, new: Obj, old: list[Obj]) -> bool:
        """``reconcileOldReplicaSets``: shrink old ReplicaSets, unhealthy pods first."""
        d = self.d
        old_active = util.active(old)
        if util.sum_spec(old_active) == 0:
            return False
        all_pods = util.sum_spec([*old_active, new])
        min_available = util.replicas(d) - util.max_unavailable(d)
        new_unavailable = util.replicas(new) - util.status_int(new, "availableReplicas")
        max_scaled_down = all_pods - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        cleaned = 0
        for rs in util.by_creation(old_active):
            if cleaned >= max_scaled_down:
                break
            size, available = util.replicas(rs), util.status_int(rs, "availableReplicas")
            if size == 0 or size == available:
                continue
            down = min(max_scaled_down - cleaned, size - available)
            await self.scale_to(rs, size - down)
            cleaned += down
        _, old = self.old_and_new()
        scaled = await self._scale_down_old_for_rolling(new, util.active(old))
        return cleaned + scaled > 0

    async def _scale_down_old_for_rolling(self, new: Obj, old: list[Obj]) -> int:
        d = self.d
        min_available = util.replicas(d) - util.max_unavailable(d)
        available = util.sum_status([*old, new], "availableReplicas")
        if available <= min_available:
            return 0
        total = available - min_available
        done = 0
        for rs in util.by_creation(old):
            if done >= total:
                break
            size = util.replicas(rs)
            if size == 0:
                continue
            down = min(size, total - done)
            await self.scale_to(rs, size - down)
            done += down
        return done

    async def recreate(self) -> None:
        """``rolloutRecreate``: old ReplicaSets to zero and their pods gone, then the new one."""
        new, old = await self.all_rss_and_sync_revision(create=False)
        scaled = False
        for rs in util.active(old):
            changed, _ = await self.scale_to(rs, 0)
            scaled = scaled or changed
        if scaled:
            await self.sync_rollout_status(*self.old_and_new())
            return
        new, old = self.old_and_new()
        if self._old_pods_running(new, old):
            await self.sync_rollout_status(new, old)
            return
        if new is None:
            new, old = await self.all_rss_and_sync_revision(create=True)
        assert new is not None
        await self.reconcile_new(new, old)
        if util.deployment_complete(self.d, util.status(self.d)):
            await self.cleanup(self.old_and_new()[1])
        await self.sync_rollout_status(*self.old_and_new())

    def _old_pods_running(self, new: Obj | None, old: list[Obj]) -> bool:
        if util.sum_status(old, "replicas") > 0:
            return True
        new_uid = util.meta(new).get("uid") if new is not None else None
        for uid, pods in self.pods_by_rs.items():
            if uid == new_uid:
                continue
            for pod in pods:
                if (pod.get("status") or {}).get("phase") not in ("Failed", "Succeeded"):
                    return True
        return False


def _active_or_latest(new: Obj | None, old: list[Obj]) -> Obj | None:
    """``FindActiveOrLatest``: the only active ReplicaSet, or the newest if none is."""
    if new is None and not old:
        return None
    newest_first = list(reversed(util.by_creation(old)))
    rss = util.active([*newest_first, new])
    if not rss:
        return new if new is not None else newest_first[0]
    if len(rss) == 1:
        return rss[0]
    return None


def _replica_failures(rss: list[Obj | None], new: Obj | None) -> list[Obj]:
    found = [
        util.rs_condition_to_deployment(c)
        for c in util.status(new or {}).get("conditions") or []
        if c.get("type") == util.REPLICA_FAILURE
    ]
    if found:
        return found
    return [
        util.rs_condition_to_deployment(c)
        for rs in rss
        if rs is not None
        for c in util.status(rs).get("conditions") or []
        if c.get("type") == util.REPLICA_FAILURE
    ]
