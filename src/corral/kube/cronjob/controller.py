"""The CronJob controller: Jobs at the scheduled times, history pruned.

Kubernetes' ``ControllerV2``, per CronJob key:

1. **Own jobs**: every Job of the namespace whose controller reference
   names this CronJob.
2. **Clean up** finished Jobs beyond ``successfulJobsHistoryLimit`` /
   ``failedJobsHistoryLimit``, oldest start first (Background deletion).
3. **Reconcile status**: finished Jobs leave ``status.active``, a succeeded
   one moves ``lastSuccessfulTime``, references to Jobs gone from the API
   are dropped (``MissingJob``).
4. **Schedule** (unless deleting, suspended, or the zone or schedule is
   bad): the most recent firing not yet started (`times`); too late for
   ``startingDeadlineSeconds`` → ``MissSchedule``; already started → wait;
   ``Forbid`` with an active Job → ``JobAlreadyActive``; ``Replace`` deletes
   the active Jobs first. The Job is named ``<cronjob>-<minutes since the
   epoch>`` (so it is created once per firing, even after a crash) and
   annotated ``batch.kubernetes.io/cronjob-scheduled-timestamp``.
5. **Requeue** at the next firing + 100 ms on ``ctx.clock``; wall time is
   ``ctx.now()``, so tests move both together.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from contextlib import suppress
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from corral.client import Client
from corral.controller import (
    NAMESPACE_INDEX,
    Controller,
    Informer,
    Result,
    WorkQueue,
    object_key,
)
from corral.kube.context import KubeContext
from corral.kube.controllerref import controller_of, controller_ref, is_controlled_by
from corral.kube.cronjob.schedule import Schedule, ScheduleError, load_zone, schedule_of
from corral.kube.cronjob.times import job_name, next_schedule_delay, next_schedule_time, rfc3339
from corral.kube.enqueue import enqueue
from corral.kube.eventrecorder import NORMAL, WARNING, EventRecorder
from corral.kube.owners import RecordingRunnable, owner_of
from corral.kube.podstatus import format_time, parse_time
from corral.kube.resources import CRON_JOBS, JOBS
from corral.machinery.status import AlreadyExists, Conflict, NotFound, StatusError

log = logging.getLogger(__name__)

Obj = dict[str, Any]

KIND = "CronJob"
API_VERSION = "batch/v1"
SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def finished_condition(job: Mapping[str, Any]) -> str | None:
    """``Complete`` or ``Failed`` when the Job has finished (``IsJobFinished``)."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return None


def job_reference(job: Mapping[str, Any]) -> Obj:
    """The ``ObjectReference`` kept in ``status.active``."""
    meta = job.get("metadata") or {}
    return {
        "kind": "Job",
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "apiVersion": API_VERSION,
        "resourceVersion": meta.get("resourceVersion", ""),
    }


def job_from_template(cron_job: Mapping[str, Any], scheduled: datetime) -> Obj:
    """``getJobFromTemplate2``: the Job of one firing."""
    meta = cron_job["metadata"]
    spec = cron_job.get("spec") or {}
    template = spec.get("jobTemplate") or {}
    tmeta = template.get("metadata") or {}
    zone = load_zone(spec.get("timeZone") or "")
    annotations = dict(tmeta.get("annotations") or {})
    annotations[SCHEDULED_TIMESTAMP_ANNOTATION] = rfc3339(scheduled.astimezone(zone))
    job_meta: Obj = {
        "name": job_name(meta["name"], scheduled),
        "namespace": meta.get("namespace", ""),
        "annotations": annotations,
        "ownerReferences": [controller_ref(cron_job, API_VERSION, KIND)],
    }
    if tmeta.get("labels"):
        job_meta["labels"] = dict(tmeta["labels"])
    return {
        "apiVersion": API_VERSION,
        "kind": "Job",
        "metadata": job_meta,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }


def _start_key(job: Mapping[str, Any]) -> tuple[int, float, str]:
    """``byJobStartTime``: started jobs by start time, then unstarted; ties by name."""
    started = parse_time((job.get("status") or {}).get("startTime"))
    name = (job.get("metadata") or {}).get("name", "")
    return (0, started.timestamp(), name) if started is not None else (1, 0.0, name)


class CronJobController(RecordingRunnable):
    """Jobs for CronJobs; a `Runnable` (with its event recorder)."""

    def __init__(self, ctx: KubeContext) -> None:
        self.client: Client = ctx.client
        self.now = ctx.now
        self.cron_informer: Informer = ctx.informers.informer(CRON_JOBS)
        self.job_informer: Informer = ctx.informers.informer(JOBS)
        queue: WorkQueue[str] = WorkQueue("cronjob", clock=ctx.clock)
        self.controller = Controller(
            "cronjob", self.cron_informer, workers=ctx.options.workers, queue=queue
        )
        self.controller.on_change("sync", self.sync)
        self.events = EventRecorder(self.client, "cronjob-controller")
        self.job_informer.on_add(self._job_changed)
        self.job_informer.on_update(lambda old, new: self._job_updated(old, new))
        self.job_informer.on_delete(self._job_changed)

    # -- job events ----------------------------------------------------------

    def _enqueue_owner(self, job: Obj) -> None:
        cron_job = owner_of(self.cron_informer, KIND, job, controller_of(job))
        if cron_job is not None:
            enqueue(self.controller, object_key(cron_job))

    def _job_changed(self, job: Obj) -> None:
        self._enqueue_owner(job)

    def _job_updated(self, old: Obj, new: Obj) -> None:
        if old is new:
            return
        if (controller_of(old) or {}).get("uid") != (controller_of(new) or {}).get("uid"):
            self._enqueue_owner(old)
        self._enqueue_owner(new)

    # -- the sync ------------------------------------------------------------

    def _jobs_of(self, cron_job: Obj) -> list[Obj]:
        meta = cron_job["metadata"]
        found = []
        for job in self.job_informer.by_index(NAMESPACE_INDEX, meta.get("namespace", "")):
            ref = controller_of(job)
            if ref is not None and ref.get("name") == meta["name"]:
                found.append(job)
        return found

    async def sync(self, key: str, cron_job: Obj | None) -> Result | None:
        """One pass over a CronJob; a status conflict means a newer CronJob is on its
        way from the informer, whose event brings the key back."""
        try:
            return await self._sync(key, cron_job)
        except Conflict:
            log.debug("cronjob %s changed meanwhile; synced again at its event", key)
            return None

    async def _sync(self, key: str, cron_job: Obj | None) -> Result | None:
        if cron_job is None:
            return None
        jobs = self._jobs_of(cron_job)
        work = copy.deepcopy(cron_job)
        work.setdefault("status", {})
        changed = await self._cleanup_finished(work, jobs)
        delay, synced, error = await self._sync_cron_job(work, jobs)
        if changed or synced:
            await self._update_status(work)
        if delay is not None:
            return Result(requeue_after=max(delay, 0.0))
        if error is not None:
            raise error
        return None

    async def _cleanup_finished(self, cron_job: Obj, jobs: list[Obj]) -> bool:
        spec = cron_job.get("spec") or {}
        succeeded_limit = spec.get("successfulJobsHistoryLimit")
        failed_limit = spec.get("failedJobsHistoryLimit")
        if succeeded_limit is None and failed_limit is None:
            return False
        done = {"Complete": [], "Failed": []}  # type: dict[str, list[Obj]]
        for job in jobs:
            state = finished_condition(job)
            if state is not None:
                done[state].append(job)
        changed = False
        for state, limit in (("Complete", succeeded_limit), ("Failed", failed_limit)):
            if limit is None or len(done[state]) <= int(limit):
                continue
            oldest = sorted(done[state], key=_start_key)[: len(done[state]) - int(limit)]
            for job in oldest:
                if await self._delete_job(cron_job, job):
                    changed = True
        return changed

    async def _delete_job(self, cron_job: Obj, job: Mapping[str, Any]) -> bool:
        meta = job.get("metadata") or {}
        try:
            await self.client.delete(
                JOBS, meta["name"], namespace=meta.get("namespace"), propagation_policy="Background"
            )
        except NotFound:
            pass  # gone already: as good as deleted
        except StatusError as exc:
            self.events.record(cron_job, WARNING, "FailedDelete", f"Deleted job: {exc}")
            return False
        _drop_active(cron_job, meta.get("uid", ""))
        self.events.record(cron_job, NORMAL, "SuccessfulDelete", f"Deleted job {meta['name']}")
        return True

    async def _sync_cron_job(
        self, cron_job: Obj, jobs: list[Obj]
    ) -> tuple[float | None, bool, Exception | None]:
        """``syncCronJob``: (requeue after, status changed, error)."""
        now = self.now()
        status = cron_job["status"]
        changed = False
        children = set()
        for job in jobs:
            jmeta = job["metadata"]
            uid = jmeta.get("uid", "")
            children.add(uid)
            active = _in_active(cron_job, uid)
            state = finished_condition(job)
            if not active and state is None:
                fresh = await self._fresh(cron_job)
                if fresh is not None and _in_active(fresh, uid):
                    continue
                self.events.record(
                    cron_job,
                    WARNING,
                    "UnexpectedJob",
                    f"Saw a job that the controller did not create or forgot: {jmeta['name']}",
                )
            elif active and state is not None:
                _drop_active(cron_job, uid)
                self.events.record(
                    cron_job,
                    NORMAL,
                    "SawCompletedJob",
                    f"Saw completed job: {jmeta['name']}, condition: {state}",
                )
                changed = True
            if state == "Complete":
                completed = parse_time((job.get("status") or {}).get("completionTime"))
                last = parse_time(status.get("lastSuccessfulTime"))
                if completed is not None and (last is None or completed > last):
                    status["lastSuccessfulTime"] = format_time(completed)
                    changed = True
        for ref in list(status.get("active") or []):
            if ref.get("uid") in children:
                continue
            try:
                await self.client.get(JOBS, ref.get("name", ""), namespace=ref.get("namespace"))
            except NotFound:
                self.events.record(
                    cron_job, NORMAL, "MissingJob", f"Active job went missing: {ref.get('name')}"
                )
                _drop_active(cron_job, ref.get("uid", ""))
                changed = True
            except StatusError as exc:
                return None, changed, exc
        meta, spec = cron_job["metadata"], cron_job.get("spec") or {}
        if meta.get("deletionTimestamp"):
            return None, changed, None
        zone = spec.get("timeZone")
        if zone is not None:
            try:
                load_zone(zone)
            except ScheduleError as exc:
                self.events.record(
                    cron_job, WARNING, "UnknownTimeZone", f'invalid timeZone: "{zone}": {exc}'
                )
                return None, changed, None
        if spec.get("suspend") is True:
            return None, changed, None
        text = spec.get("schedule") or ""
        if "TZ" in text:
            self.events.record(
                cron_job,
                WARNING,
                "UnsupportedSchedule",
                f'CRON_TZ or TZ used in schedule "{text}" is not officially supported, see '
                "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ "
                "for more details",
            )
        try:
            schedule = schedule_of(text, zone)
        except ScheduleError as exc:
            self.events.record(
                cron_job, WARNING, "UnparseableSchedule", f'unparseable schedule: "{text}" : {exc}'
            )
            return None, changed, None
        scheduled, too_many, problem = next_schedule_time(cron_job, now, schedule)
        if problem is not None:
            self.events.record(
                cron_job, WARNING, "InvalidSchedule", f"invalid schedule: {text} : {problem}"
            )
            return None, changed, None
        if too_many:
            self.events.record(
                cron_job,
                WARNING,
                "TooManyMissedTimes",
                "too many missed start times. Set or decrease .spec.startingDeadlineSeconds "
                "or check clock skew",
            )
            log.info("cronjob %s: too many missed start times", object_key(cron_job))
        if scheduled is None:
            return next_schedule_delay(cron_job, now, schedule), changed, None
        return await self._start(cron_job, now, schedule, scheduled, changed)

    async def _start(
        self,
        cron_job: Obj,
        now: datetime,
        schedule: Schedule,
        scheduled: datetime,
        changed: bool,
    ) -> tuple[float | None, bool, Exception | None]:
        spec, status = cron_job.get("spec") or {}, cron_job["status"]
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None and (now - scheduled).total_seconds() > int(deadline):
            when = format_datetime(scheduled, usegmt=False).replace("-0000", "+0000")
            self.events.record(
                cron_job, WARNING, "MissSchedule", f"Missed scheduled time to start a job: {when}"
            )
            return next_schedule_delay(cron_job, now, schedule), changed, None
        name = job_name(cron_job["metadata"]["name"], scheduled)
        already = any(ref.get("name") == name for ref in status.get("active") or [])
        if already or parse_time(status.get("lastScheduleTime")) == scheduled:
            return next_schedule_delay(cron_job, now, schedule), changed, None
        policy = spec.get("concurrencyPolicy") or "Allow"
        if policy == "Forbid" and status.get("active"):
            self.events.record(
                cron_job,
                NORMAL,
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy "
                "is Forbid",
            )
            return next_schedule_delay(cron_job, now, schedule), changed, None
        if policy == "Replace":
            for ref in list(status.get("active") or []):
                try:
                    job = await self.client.get(
                        JOBS, ref.get("name", ""), namespace=ref.get("namespace")
                    )
                except StatusError as exc:
                    self.events.record(cron_job, WARNING, "FailedGet", f"Get job: {exc}")
                    return None, changed, exc
                if not await self._delete_job(cron_job, job):
                    return None, changed, RuntimeError(f"could not replace job {ref.get('name')}")
                changed = True
        body = job_from_template(cron_job, scheduled)
        namespace = cron_job["metadata"].get("namespace", "")
        try:
            job = await self.client.create(JOBS, body, namespace=namespace)
        except AlreadyExists:
            try:
                job = await self.client.get(JOBS, name, namespace=namespace)
            except StatusError as exc:
                return None, changed, exc
            if not is_controlled_by(job, cron_job):
                return None, changed, None
            if _in_active(cron_job, job["metadata"].get("uid", "")):
                return None, changed, None
            log.info("cronjob %s: job %s already exists", object_key(cron_job), name)
        except StatusError as exc:
            if "NamespaceTerminating" not in str(exc):
                self.events.record(cron_job, WARNING, "FailedCreate", f"Error creating job: {exc}")
            return None, changed, exc
        else:
            self.events.record(cron_job, NORMAL, "SuccessfulCreate", f"Created job {name}")
        status.setdefault("active", []).append(job_reference(job))
        status["lastScheduleTime"] = format_time(scheduled)
        return next_schedule_delay(cron_job, now, schedule), True, None

    async def _fresh(self, cron_job: Obj) -> Obj | None:
        meta = cron_job["metadata"]
        try:
            return await self.client.get(CRON_JOBS, meta["name"], namespace=meta.get("namespace"))
        except NotFound:
            return None

    async def _update_status(self, cron_job: Obj) -> None:
        status = cron_job.get("status") or {}
        if not status.get("active"):
            status.pop("active", None)
        with suppress(NotFound):
            await self.client.update(CRON_JOBS, cron_job, subresource="status")


def _in_active(cron_job: Mapping[str, Any], uid: str) -> bool:
    return any(ref.get("uid") == uid for ref in (cron_job.get("status") or {}).get("active") or [])


def _drop_active(cron_job: Obj, uid: str) -> None:
    status = cron_job.setdefault("status", {})
    status["active"] = [ref for ref in status.get("active") or [] if ref.get("uid") != uid]
