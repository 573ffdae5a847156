"""The Job controller: run pods to completion, count them, finish the Job.

Kubernetes' job controller (1.32, tracking with finalizers), per Job key:

1. **Pods**: the Job's pods (by controller reference; orphans matching the
   selector are adopted). Every pod it creates carries the
   ``batch.kubernetes.io/job-tracking`` finalizer, so a finished pod cannot
   vanish before it is counted.
2. **Decide**: more failures than ``backoffLimit`` (or, for
   ``OnFailure``, as many container restarts) → ``FailureTarget``
   (``BackoffLimitExceeded``); past ``activeDeadlineSeconds`` →
   ``FailureTarget`` (``DeadlineExceeded``); enough successes and nothing
   active → ``SuccessCriteriaMet``. A finishing Job deletes its active pods.
3. **Manage** otherwise (once earlier creations/deletions were observed,
   `Expectations`): delete surplus pods (all of them when suspended),
   create missing ones from the template in slow-start batches — after the
   back-off since the last failure (`backoff`); Indexed Jobs create the
   lowest pending indexes.
4. **Track** (``trackJobStatusAndRemoveFinalizers``): finished pods go into
   ``status.uncountedTerminatedPods`` (written first), then their finalizer
   is removed, then they move into ``succeeded``/``failed``. Only when
   nothing is uncounted and no pod terminates does ``Complete``/``Failed``
   follow the interim condition, with ``completionTime`` and an event.

Pods whose Job is gone or finished lose the finalizer through a small queue
of their own (``enqueueOrphanPod``). Deleting finished Jobs after
``ttlSecondsAfterFinished`` is `corral.kube.job.ttl`.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from corral.client import Client, PatchType
from corral.controller import (
    Controller,
    Informer,
    QueueShutDown,
    Result,
    WorkQueue,
    object_key,
)
from corral.kube.context import KubeContext, KubeOptions
from corral.kube.controllerref import (
    CONTROLLER_INDEX,
    ControllerRefManager,
    controller_of,
    fresh_owner_check,
    index_by_controller,
)
from corral.kube.enqueue import enqueue
from corral.kube.eventrecorder import NORMAL, WARNING, EventRecorder
from corral.kube.expectations import Expectations
from corral.kube.job import conditions as cond
from corral.kube.job.backoff import BackoffRecord, next_record, remaining
from corral.kube.job.indexes import format_indexes, parse_indexes
from corral.kube.job.pods import (
    API_VERSION,
    KIND,
    TRACKING_FINALIZER,
    completion_index,
    has_tracking_finalizer,
    is_terminating,
    meta_of,
    new_pod,
    phase,
    restart_count,
)
from corral.kube.owners import labels_of, matching_owners, owner_of, selector_of
from corral.kube.podranking import pods_to_delete
from corral.kube.podstatus import format_time, is_pod_active, is_pod_ready, parse_time
from corral.kube.resources import JOBS, PODS
from corral.kube.slowstart import slow_start_batch
from corral.machinery.status import Conflict, NotFound, StatusError

log = logging.getLogger(__name__)

Obj = dict[str, Any]

#: Pods created or deleted by one sync at most (``MaxPodCreateDeletePerSync``).
MAX_POD_CHANGES_PER_SYNC = 500
#: Finished pods put into ``uncountedTerminatedPods`` by one sync at most.
MAX_UNCOUNTED_PODS = 500
#: The pod informer's index of pods by the uid of the Job controlling them.
JOB_UID_INDEX = "job-controller-uid"
MANAGED_BY = "kubernetes.io/job-controller"


def _job_uid(pod: Obj) -> list[str]:
    ref = controller_of(pod)
    if ref is None or ref.get("kind") != KIND:
        return []
    return [str(ref.get("uid") or "")]


async def _remove_finalizer(client: Client, pod: Obj) -> None:
    """Drop the pod's tracking finalizer (a strategic merge patch of that one entry)."""
    meta = meta_of(pod)
    await client.patch(
        PODS,
        meta["name"],
        {"metadata": {"$deleteFromPrimitiveList/finalizers": [TRACKING_FINALIZER]}},
        patch_type=PatchType.STRATEGIC,
        namespace=meta.get("namespace"),
    )


def is_suspended(job: Mapping[str, Any]) -> bool:
    return (job.get("spec") or {}).get("suspend") is True


def is_indexed(job: Mapping[str, Any]) -> bool:
    return (job.get("spec") or {}).get("completionMode") == "Indexed"


def only_replace_failed(job: Mapping[str, Any]) -> bool:
    spec = job.get("spec") or {}
    return spec.get("podReplacementPolicy") == "Failed" or bool(spec.get("podFailurePolicy"))


def is_pod_failed(pod: Mapping[str, Any], job: Mapping[str, Any]) -> bool:
    """Failed, or (unless only failed pods are replaced) deleted before it succeeded."""
    if phase(pod) == "Failed":
        return True
    if only_replace_failed(job):
        return False
    return bool(meta_of(pod).get("deletionTimestamp")) and phase(pod) != "Succeeded"


@dataclass(slots=True)
class _Sync:
    """What one sync of a Job works with (``syncJobCtx``)."""

    job: Obj
    pods: list[Obj]
    active_pods: list[Obj]
    ready: int
    terminating: int
    uncounted_succeeded: set[str]
    uncounted_failed: set[str]
    expected_rm: set[str]
    succeeded: int = 0
    failed: int = 0
    finished: Obj | None = None
    backoff: BackoffRecord = field(default_factory=BackoffRecord)
    prev_indexes: set[int] = field(default_factory=set)
    succeeded_indexes: set[int] = field(default_factory=set)


class JobController:
    """Pods for Jobs; a `Runnable` (with its event recorder and orphan-pod worker)."""

    def __init__(self, ctx: KubeContext) -> None:
        self.client: Client = ctx.client
        self.now = ctx.now
        self.options: KubeOptions = ctx.options
        self.job_informer: Informer = ctx.informers.informer(JOBS)
        self.pod_informer: Informer = ctx.informers.informer(PODS)
        index_by_controller(self.pod_informer)
        self.pod_informer.add_indexer(JOB_UID_INDEX, _job_uid)
        queue: WorkQueue[str] = WorkQueue("job", clock=ctx.clock)
        self.controller = Controller(
            "job", self.job_informer, workers=ctx.options.workers, queue=queue
        )
        self.controller.on_change("sync", self.sync)
        self.orphans: WorkQueue[str] = WorkQueue("job-orphan-pods", clock=ctx.clock)
        self.expectations = Expectations(ctx.clock.now)
        self.removing: dict[str, set[str]] = {}  # job key -> pod uids losing the finalizer
        self.backoffs: dict[str, BackoffRecord] = {}
        self.events = EventRecorder(self.client, "job-controller")
        self.pod_informer.on_add(self._pod_added)
        self.pod_informer.on_update(self._pod_updated)
        self.pod_informer.on_delete(lambda pod: self._pod_deleted(pod, final=True))

    # -- Runnable ------------------------------------------------------------

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.events.run())
            group.create_task(self.controller.run())
            group.create_task(self._orphan_worker())

    async def stop(self) -> None:
        self.orphans.shutdown()
        await self.controller.stop()
        await self.events.stop()

    # -- pod events ----------------------------------------------------------

    def _resolve(self, pod: Obj, ref: Mapping[str, Any] | None) -> Obj | None:
        return owner_of(self.job_informer, KIND, pod, ref)

    def _matching_jobs(self, pod: Obj) -> list[Obj]:
        return matching_owners(self.job_informer, pod)

    def _orphan(self, pod: Obj) -> None:
        try:
            self.orphans.add(object_key(pod))
        except Exception:  # full or shut down: the next event brings it back
            log.warning("job: could not queue orphan pod %s", object_key(pod))

    def _removal_observed(self, job: Obj, pod: Obj) -> None:
        uids = self.removing.get(object_key(job))
        if uids is not None:
            uids.discard(str(meta_of(pod).get("uid") or ""))

    def _pod_added(self, pod: Obj) -> None:
        if meta_of(pod).get("deletionTimestamp"):
            self._pod_deleted(pod, final=False)
            return
        ref = controller_of(pod)
        if ref is not None:
            job = self._resolve(pod, ref)
            if job is None:
                if ref.get("kind") == KIND and has_tracking_finalizer(pod):
                    self._orphan(pod)
                return
            self.expectations.creation_observed(object_key(job))
            enqueue(self.controller, object_key(job))
            return
        if has_tracking_finalizer(pod):
            self._orphan(pod)
        for job in self._matching_jobs(pod):
            enqueue(self.controller, object_key(job))

    def _pod_updated(self, old: Obj, cur: Obj) -> None:
        if old is cur or meta_of(old).get("resourceVersion") == meta_of(cur).get("resourceVersion"):
            return
        if meta_of(cur).get("deletionTimestamp"):
            self._pod_deleted(cur, final=False)
            return
        removed = not has_tracking_finalizer(cur)
        cur_ref, old_ref = controller_of(cur), controller_of(old)
        if cur_ref != old_ref and old_ref is not None:
            job = self._resolve(old, old_ref)
            if job is not None:
                if removed:
                    self._removal_observed(job, cur)
                enqueue(self.controller, object_key(job))
        if cur_ref is not None:
            job = self._resolve(cur, cur_ref)
            if job is not None:
                if removed:
                    self._removal_observed(job, cur)
                enqueue(self.controller, object_key(job))
            return
        if labels_of(old) != labels_of(cur) or cur_ref != old_ref:
            for job in self._matching_jobs(cur):
                enqueue(self.controller, object_key(job))

    def _pod_deleted(self, pod: Obj, *, final: bool) -> None:
        ref = controller_of(pod)
        tracked = has_tracking_finalizer(pod)
        job = self._resolve(pod, ref)
        if job is None or cond.finished(job):
            if tracked:
                self._orphan(pod)
            return
        key = object_key(job)
        self.expectations.deletion_observed(key, object_key(pod))
        if final or not tracked:
            self._removal_observed(job, pod)
        enqueue(self.controller, key)

    # -- orphan pods ---------------------------------------------------------

    async def _orphan_worker(self) -> None:
        while True:
            try:
                key = await self.orphans.get()
            except QueueShutDown:
                return
            try:
                await self._release_orphan(key)
            except Exception:
                log.exception("job: removing the finalizer of orphan pod %s failed", key)
                try:
                    self.orphans.add_rate_limited(key)
                except Exception:
                    log.warning("job: could not requeue orphan pod %s", key)
            else:
                self.orphans.forget(key)
            finally:
                self.orphans.done(key)

    async def _release_orphan(self, key: str) -> None:
        pod = self.pod_informer.get(key)
        if pod is None or not has_tracking_finalizer(pod):
            return
        job = self._resolve(pod, controller_of(pod))
        if job is not None and not cond.finished(job):
            return
        with suppress(NotFound):
            await _remove_finalizer(self.client, pod)

    # -- the sync ------------------------------------------------------------

    async def sync(self, key: str, shared: Obj | None) -> Result | None:
        """One pass over a Job. A write conflict means a newer Job exists that the
        informer has not delivered yet; its event brings the key back, so the pass
        simply ends (the stale cache is never acted on: every write names its version)."""
        try:
            return await self._sync(key, shared)
        except Conflict:
            log.debug("job %s changed meanwhile; synced again at its event", key)
            return None

    async def _sync(self, key: str, shared: Obj | None) -> Result | None:
        if shared is None:
            self.expectations.forget(key)
            self.removing.pop(key, None)
            self.backoffs.pop(key, None)
            return None
        spec = shared.get("spec") or {}
        if spec.get("managedBy") not in (None, MANAGED_BY):
            return None
        if cond.finished(shared):
            self.backoffs.pop(key, None)
            return None
        if spec.get("completionMode") not in (None, "NonIndexed", "Indexed"):
            self.events.record(
                shared,
                WARNING,
                "UnknownCompletionMode",
                "Skipped Job sync because completion mode is unknown",
            )
            return None
        job = copy.deepcopy(shared)
        status = job.setdefault("status", {})
        uncounted = status.get("uncountedTerminatedPods") or {}
        status["uncountedTerminatedPods"] = {
            k: list(uncounted.get(k) or []) for k in ("succeeded", "failed") if uncounted.get(k)
        }
        satisfied = self.expectations.satisfied(key)
        pods = await self._pods_for(job)
        active_pods = [p for p in pods if is_pod_active(p)]
        run = _Sync(
            job=job,
            pods=pods,
            active_pods=active_pods,
            ready=sum(1 for p in active_pods if is_pod_ready(p)),
            terminating=sum(1 for p in pods if is_terminating(p)),
            uncounted_succeeded=set(status["uncountedTerminatedPods"].get("succeeded", [])),
            uncounted_failed=set(status["uncountedTerminatedPods"].get("failed", [])),
            expected_rm=set(self.removing.get(key, ())),
        )
        active = len(active_pods)
        new_succeeded, new_failed = self._new_finished(run)
        run.succeeded = int(status.get("succeeded") or 0) + len(new_succeeded)
        run.succeeded += len(run.uncounted_succeeded)
        run.failed = int(status.get("failed") or 0) + len(new_failed) + len(run.uncounted_failed)
        now = self.now()
        if not status.get("startTime") and not is_suspended(job):
            status["startTime"] = format_time(now)
        run.backoff = next_record(
            self.backoffs.get(key, BackoffRecord()), new_succeeded, new_failed
        )
        requeue: float | None = None
        met = cond.find(job, cond.SUCCESS_CRITERIA_MET)
        if met is not None and met.get("status") == "True":
            run.finished = copy.deepcopy(met)
        if run.finished is None:
            target = cond.find(job, cond.FAILURE_TARGET)
            if target is not None and target.get("status") == "True":
                run.finished = cond.new_condition(
                    cond.FAILED, "True", target.get("reason", ""), target.get("message", ""), now
                )
        if run.finished is None:
            limit = int(spec.get("backoffLimit", 6))
            if run.failed > limit or self._past_backoff_limit_on_failure(job, pods):
                run.finished = cond.new_condition(
                    cond.FAILURE_TARGET,
                    "True",
                    cond.BACKOFF_LIMIT_EXCEEDED,
                    cond.BACKOFF_LIMIT_MESSAGE,
                    now,
                )
            elif self._past_active_deadline(job, now):
                run.finished = cond.new_condition(
                    cond.FAILURE_TARGET, "True", cond.DEADLINE_EXCEEDED, cond.DEADLINE_MESSAGE, now
                )
            elif spec.get("activeDeadlineSeconds") is not None and not is_suspended(job):
                started = parse_time(status.get("startTime")) or now
                left = int(spec["activeDeadlineSeconds"]) - (now - started).total_seconds()
                requeue = max(left, 0.0)
        if is_indexed(job):
            completions = int(spec.get("completions") or 0)
            run.prev_indexes = parse_indexes(status.get("completedIndexes"), completions)
            fresh = {
                ix
                for p in pods
                if phase(p) == "Succeeded"
                and has_tracking_finalizer(p)
                and (ix := completion_index(p)) is not None
                and ix < completions
            }
            run.succeeded_indexes = run.prev_indexes | fresh
            run.succeeded = len(run.succeeded_indexes)
        suspend_changed = False
        error: Exception | None = None
        if run.finished is not None:
            deleted_ready, deleted, error = await self._delete_active(job, active_pods)
            if deleted != active or not satisfied:
                run.finished = None  # finalizers or unseen pods remain: not yet
            active -= deleted
            run.terminating += deleted
            run.ready -= deleted_ready
        else:
            managed = False
            if satisfied and not meta_of(job).get("deletionTimestamp"):
                active, delay, error = await self._manage(key, run, active, now)
                managed = True
                if delay is not None:
                    requeue = delay if requeue is None else min(requeue, delay)
            completions_spec = spec.get("completions")
            if completions_spec is None:
                complete = run.succeeded > 0 and active == 0
            else:
                complete = run.succeeded >= int(completions_spec) and active == 0
            if complete:
                run.finished = cond.new_condition(
                    cond.SUCCESS_CRITERIA_MET,
                    "True",
                    cond.COMPLETIONS_REACHED,
                    cond.COMPLETIONS_REACHED_MESSAGE,
                    now,
                )
            elif managed:
                suspend_changed = self._suspend_condition(job, now)
        needs_flush = (
            suspend_changed
            or active != int(status.get("active") or 0)
            or run.ready != status.get("ready")
            or run.terminating != status.get("terminating")
        )
        status["active"] = active
        status["ready"] = run.ready
        status["terminating"] = run.terminating
        await self._track(key, run, needs_flush, now)
        if error is not None:
            raise error
        return Result(requeue_after=requeue) if requeue is not None else None

    def _suspend_condition(self, job: Obj, now: datetime) -> bool:
        status = job["status"]
        if is_suspended(job):
            changed = cond.ensure(
                status, cond.SUSPENDED, "True", "JobSuspended", "Job suspended", now
            )
            if changed:
                self.events.record(job, NORMAL, "Suspended", "Job suspended")
            return changed
        changed = cond.ensure(status, cond.SUSPENDED, "False", "JobResumed", "Job resumed", now)
        if changed:
            self.events.record(job, NORMAL, "Resumed", "Job resumed")
            status["startTime"] = format_time(now)
        return changed

    async def _pods_for(self, job: Obj) -> list[Obj]:
        meta = meta_of(job)
        owned = self.pod_informer.by_index(JOB_UID_INDEX, str(meta.get("uid") or ""))
        selector = selector_of(job)
        if selector is None:
            return [p for p in owned if (controller_of(p) or {}).get("uid") == meta.get("uid")]
        orphans = self.pod_informer.by_index(
            CONTROLLER_INDEX, f"orphan/{meta.get('namespace', '')}"
        )
        manager = ControllerRefManager(
            self.client,
            PODS,
            job,
            API_VERSION,
            KIND,
            selector,
            fresh_owner_check(self.client, JOBS, job),
        )
        claimed = await manager.claim([*owned, *orphans])
        out = []
        for pod in claimed:
            if controller_of(pod) is None and not has_tracking_finalizer(pod):
                pod = copy.deepcopy(pod)  # adopted: counted as if tracked from the start
                pod["metadata"].setdefault("finalizers", []).append(TRACKING_FINALIZER)
            out.append(pod)
        return out

    def _new_finished(self, run: _Sync) -> tuple[list[Obj], list[Obj]]:
        """Finished pods not yet counted anywhere (``getNewFinishedPods``)."""
        succeeded, failed = [], []
        completions = int((run.job.get("spec") or {}).get("completions") or 0)
        for pod in run.pods:
            uid = str(meta_of(pod).get("uid") or "")
            if not has_tracking_finalizer(pod) or uid in run.expected_rm:
                continue
            if is_indexed(run.job):
                ix = completion_index(pod)
                if ix is None or ix >= completions:
                    continue
            if phase(pod) == "Succeeded" and uid not in run.uncounted_succeeded:
                succeeded.append(pod)
            elif is_pod_failed(pod, run.job) and uid not in run.uncounted_failed:
                failed.append(pod)
        return succeeded, failed

    @staticmethod
    def _past_backoff_limit_on_failure(job: Obj, pods: list[Obj]) -> bool:
        spec = job.get("spec") or {}
        policy = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
        if policy != "OnFailure":
            return False
        restarts = sum(restart_count(p) for p in pods)
        limit = int(spec.get("backoffLimit", 6))
        return restarts > 0 if limit == 0 else restarts >= limit

    @staticmethod
    def _past_active_deadline(job: Obj, now: datetime) -> bool:
        spec, status = job.get("spec") or {}, job.get("status") or {}
        deadline = spec.get("activeDeadlineSeconds")
        started = parse_time(status.get("startTime"))
        if deadline is None or started is None or is_suspended(job):
            return False
        return (now - started).total_seconds() >= int(deadline)

    # -- creating and deleting pods ------------------------------------------

    async def _manage(
        self, key: str, run: _Sync, active: int, now: datetime
    ) -> tuple[int, float | None, Exception | None]:
        """``manageJob``: (active, requeue after, error)."""
        job = run.job
        spec = job.get("spec") or {}
        parallelism = int(spec.get("parallelism", 1))
        if is_suspended(job):
            victims = pods_to_delete(run.active_pods, run.active_pods, len(run.active_pods))
            removed_ready, removed, error = await self._delete_pods(key, job, victims)
            run.terminating += removed
            run.ready -= removed_ready
            return active - removed, None, error
        completions = spec.get("completions")
        if completions is None:
            want = active if run.succeeded > 0 else parallelism
        else:
            want = max(0, min(int(completions) - run.succeeded, parallelism))
        victims = self._for_removal(job, run.active_pods, max(0, active - want))
        victims = victims[:MAX_POD_CHANGES_PER_SYNC]
        if victims:
            removed_ready, removed, error = await self._delete_pods(key, job, victims)
            run.terminating += removed
            run.ready -= removed_ready
            return active - removed, None, error
        terminating = run.terminating if only_replace_failed(job) else 0
        diff = want - terminating - active
        if diff <= 0:
            return active, None, None
        wait = remaining(run.backoff, now, self.options.job_backoff, self.options.job_backoff_max)
        if wait > 0:
            return active, wait, None
        diff = min(diff, MAX_POD_CHANGES_PER_SYNC)
        indexes: list[int | None] = [None] * diff
        if is_indexed(job):
            indexes = list(self._pending_indexes(run, diff, int(completions or 0)))
            diff = len(indexes)
            if diff == 0:
                return active, None, None
        self.expectations.expect_creations(key, diff)
        pending = iter(indexes)
        namespace = meta_of(job).get("namespace", "")

        async def create(index: int | None) -> None:
            try:
                pod = await self.client.create(PODS, new_pod(job, index), namespace=namespace)
            except StatusError as exc:
                if "NamespaceTerminating" in str(exc) or "is being terminated" in str(exc):
                    self.expectations.creation_observed(key)
                    return
                self.events.record(job, WARNING, "FailedCreate", f"Error creating: {exc}")
                raise
            self.events.record(
                job, NORMAL, "SuccessfulCreate", f"Created pod: {meta_of(pod).get('name', '')}"
            )

        successes, error = await slow_start_batch(diff, lambda: create(next(pending)))
        if error is not None:
            self.expectations.lower_creations(key, diff - successes)
            active -= diff - successes
        return active + diff, None, error

    @staticmethod
    def _pending_indexes(run: _Sync, count: int, completions: int) -> list[int]:
        """The lowest indexes neither succeeded nor running (``firstPendingIndexes``)."""
        taken = set(run.succeeded_indexes)
        taken.update(ix for p in run.active_pods if (ix := completion_index(p)) is not None)
        if only_replace_failed(run.job):
            taken.update(
                ix
                for p in run.pods
                if is_terminating(p) and (ix := completion_index(p)) is not None
            )
        out: list[int] = []
        for ix in range(completions):
            if len(out) >= count:
                break
            if ix not in taken:
                out.append(ix)
        return out

    @staticmethod
    def _for_removal(job: Obj, active_pods: list[Obj], at_least: int) -> list[Obj]:
        """``activePodsForRemoval``: duplicate or invalid indexes first, then by rank."""
        rm: list[Obj] = []
        left: list[Obj] = active_pods
        if is_indexed(job):
            completions = int((job.get("spec") or {}).get("completions") or 0)
            groups: dict[int, list[Obj]] = {}
            left = []
            for pod in active_pods:
                ix = completion_index(pod)
                if ix is None or ix >= completions:
                    rm.append(pod)
                else:
                    groups.setdefault(ix, []).append(pod)
            for group in groups.values():
                extra = pods_to_delete(group, group, len(group) - 1)
                rm.extend(extra)
                left.extend(p for p in group if not any(p is e for e in extra))
        if len(rm) < at_least:
            rm.extend(pods_to_delete(left, left, at_least - len(rm)))
        return rm

    async def _delete_pods(
        self, key: str, job: Obj, pods: list[Obj]
    ) -> tuple[int, int, Exception | None]:
        """``deleteJobPods``: drop the finalizer (never counted), then delete."""
        self.expectations.expect_deletions(key, [object_key(p) for p in pods])

        async def one(pod: Obj) -> bool:
            meta = meta_of(pod)
            try:
                if has_tracking_finalizer(pod):
                    await _remove_finalizer(self.client, pod)
                await self.client.delete(PODS, meta["name"], namespace=meta.get("namespace"))
            except NotFound:
                self.expectations.deletion_observed(key, object_key(pod))
                return True
            except StatusError as exc:
                self.expectations.deletion_observed(key, object_key(pod))
                self.events.record(job, WARNING, "FailedDelete", f"Error deleting: {exc}")
                raise
            self.events.record(job, NORMAL, "SuccessfulDelete", f"Deleted pod: {meta['name']}")
            return True

        return await self._gather(pods, one)

    async def _delete_active(self, job: Obj, pods: list[Obj]) -> tuple[int, int, Exception | None]:
        """``deleteActivePods``: delete, keeping finalizers (the pods are counted as failed)."""

        async def one(pod: Obj) -> bool:
            meta = meta_of(pod)
            try:
                await self.client.delete(PODS, meta["name"], namespace=meta.get("namespace"))
            except NotFound:
                return True
            self.events.record(job, NORMAL, "SuccessfulDelete", f"Deleted pod: {meta['name']}")
            return True

        return await self._gather(pods, one)

    @staticmethod
    async def _gather(pods: list[Obj], fn: Any) -> tuple[int, int, Exception | None]:
        results = await asyncio.gather(*(fn(p) for p in pods), return_exceptions=True)
        ready = deleted = 0
        error: Exception | None = None
        for pod, result in zip(pods, results, strict=True):
            if isinstance(result, Exception):
                error = error or result
                continue
            if isinstance(result, BaseException):
                raise result
            deleted += 1
            if is_pod_ready(pod):
                ready += 1
        return ready, deleted, error

    # -- counting finished pods and finishing the Job --------------------------

    async def _track(self, key: str, run: _Sync, needs_flush: bool, now: datetime) -> None:
        """``trackJobStatusAndRemoveFinalizers``."""
        job = run.job
        status = job["status"]
        uncounted = status["uncountedTerminatedPods"]
        indexed = is_indexed(job)
        completions = int((job.get("spec") or {}).get("completions") or 0)
        pods = run.pods
        if indexed:
            pods = sorted(
                pods, key=lambda p: (completion_index(p) is None, completion_index(p) or 0)
            )
        tracked = {
            str(meta_of(p).get("uid") or "")
            for p in pods
            if has_tracking_finalizer(p) and str(meta_of(p).get("uid") or "") not in run.expected_rm
        }
        if _count_uncounted(status, tracked):
            needs_flush = True
        to_release: list[Obj] = []
        new_indexes: list[int] = []
        reached_max = False
        failing = run.finished is not None and run.finished["type"] != cond.SUCCESS_CRITERIA_MET
        for pod in pods:
            uid = str(meta_of(pod).get("uid") or "")
            if not has_tracking_finalizer(pod) or uid in run.expected_rm:
                continue
            failed = is_pod_failed(pod, job)
            if not (failed or phase(pod) == "Succeeded" or run.finished is not None):
                continue
            to_release.append(pod)
            ix = completion_index(pod)
            if phase(pod) == "Succeeded" and uid not in run.uncounted_failed:
                if indexed:
                    if ix is not None and ix < completions and ix not in run.prev_indexes:
                        new_indexes.append(ix)
                elif uid not in run.uncounted_succeeded:
                    needs_flush = True
                    uncounted.setdefault("succeeded", []).append(uid)
            elif failed or failing:
                valid = not indexed or (ix is not None and ix < completions)
                if uid not in run.uncounted_failed and valid:
                    needs_flush = True
                    uncounted.setdefault("failed", []).append(uid)
            waiting = len(uncounted.get("succeeded", [])) + len(uncounted.get("failed", []))
            if len(new_indexes) + waiting >= MAX_UNCOUNTED_PODS:
                reached_max = True
                break
        if indexed:
            run.succeeded_indexes |= set(new_indexes)
            text = format_indexes(run.succeeded_indexes)
            if text != (status.get("completedIndexes") or ""):
                needs_flush = True
            status["succeeded"] = len(run.succeeded_indexes)
            status["completedIndexes"] = text
        finished = run.finished
        if finished is not None and finished["type"] == cond.FAILURE_TARGET:
            status.setdefault("conditions", []).append(finished)
            needs_flush = True
            finished = cond.new_condition(
                cond.FAILED, "True", finished["reason"], finished["message"], now
            )
        elif finished is not None and finished["type"] == cond.SUCCESS_CRITERIA_MET:
            if not cond.is_true(job, cond.SUCCESS_CRITERIA_MET):
                status.setdefault("conditions", []).append(finished)
                needs_flush = True
            finished = cond.new_condition(
                cond.COMPLETE, "True", finished["reason"], finished["message"], now
            )
        run.finished = finished
        needs_flush = await self._flush(key, run, to_release, tracked, needs_flush)
        done = not reached_max and self._enact_finished(run, now)
        if done:
            needs_flush = True
        if needs_flush:
            run.job = await self._update_status(run.job)
            if done and run.finished is not None:
                self._record_finished(run.job, run.finished)

    async def _flush(
        self, key: str, run: _Sync, to_release: list[Obj], tracked: set[str], needs_flush: bool
    ) -> bool:
        """Write the uncounted pods, remove their finalizers, count them."""
        if needs_flush:
            run.job = await self._update_status(run.job)
            self.backoffs[key] = run.backoff
            needs_flush = False
        error: Exception | None = None
        if to_release:
            released, error = await self._release(key, to_release)
            tracked -= released
        if _count_uncounted(run.job["status"], tracked):
            needs_flush = True
        if error is not None:
            if needs_flush:
                run.job = await self._update_status(run.job)
            raise error
        return needs_flush

    async def _release(self, key: str, pods: list[Obj]) -> tuple[set[str], Exception | None]:
        """Remove the tracking finalizer; (uids released, first error)."""
        expecting = self.removing.setdefault(key, set())
        uids = [str(meta_of(p).get("uid") or "") for p in pods]
        expecting.update(uids)

        results = await asyncio.gather(
            *(_remove_finalizer(self.client, p) for p in pods), return_exceptions=True
        )
        released: set[str] = set()
        error: Exception | None = None
        for uid, result in zip(uids, results, strict=True):
            if result is None or isinstance(result, NotFound):
                released.add(uid)
            elif isinstance(result, Exception):
                expecting.discard(uid)
                error = error or result
            else:
                raise result
        return released, error

    def _enact_finished(self, run: _Sync, now: datetime) -> bool:
        finished = run.finished
        if finished is None:
            return False
        status = run.job["status"]
        uncounted = status.get("uncountedTerminatedPods") or {}
        if uncounted.get("succeeded") or uncounted.get("failed"):
            return False
        if run.terminating > 0:
            return False
        cond.ensure(
            status,
            finished["type"],
            finished["status"],
            finished["reason"],
            finished["message"],
            now,
        )
        if finished["type"] == cond.COMPLETE:
            written = cond.find(run.job, cond.COMPLETE) or finished
            status["completionTime"] = written["lastTransitionTime"]
        return True

    def _record_finished(self, job: Obj, finished: Obj) -> None:
        if finished["type"] == cond.COMPLETE:
            completions = (job.get("spec") or {}).get("completions")
            succeeded = int((job.get("status") or {}).get("succeeded") or 0)
            if completions is not None and succeeded > int(completions):
                self.events.record(
                    job,
                    WARNING,
                    "TooManySucceededPods",
                    "Too many succeeded pods running after completion count reached",
                )
            self.events.record(job, NORMAL, "Completed", "Job completed")
        else:
            self.events.record(job, WARNING, finished["reason"], finished["message"])

    async def _update_status(self, job: Obj) -> Obj:
        body = copy.deepcopy(job)
        status = body.setdefault("status", {})
        for name in ("active", "succeeded", "failed"):
            if not status.get(name):
                status.pop(name, None)
        if not status.get("completedIndexes"):
            status.pop("completedIndexes", None)
        uncounted = status.get("uncountedTerminatedPods") or {}
        status["uncountedTerminatedPods"] = {k: v for k, v in uncounted.items() if v}
        if not status.get("conditions"):
            status.pop("conditions", None)
        updated: Obj = await self.client.update(JOBS, body, subresource="status")
        fresh_status = updated.setdefault("status", {})
        fresh_uncounted = fresh_status.get("uncountedTerminatedPods") or {}
        fresh_status["uncountedTerminatedPods"] = {
            k: list(v) for k, v in fresh_uncounted.items() if v
        }
        return updated


def _count_uncounted(status: Obj, tracked: set[str]) -> bool:
    """``cleanUncountedPodsWithoutFinalizers``: uncounted pods whose finalizer is gone
    move into ``succeeded``/``failed``; whether anything moved."""
    uncounted = status.setdefault("uncountedTerminatedPods", {})
    changed = False
    for name in ("succeeded", "failed"):
        uids = uncounted.get(name) or []
        keep = [uid for uid in uids if uid in tracked]
        if len(keep) != len(uids):
            changed = True
            status[name] = int(status.get(name) or 0) + len(uids) - len(keep)
            if keep:
                uncounted[name] = keep
            else:
                uncounted.pop(name, None)
    return changed
