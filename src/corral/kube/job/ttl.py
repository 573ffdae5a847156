"""Deleting finished Jobs ``ttlSecondsAfterFinished`` after they finished.

Kubernetes' TTL-after-finished controller: a Job with the field set that is
``Complete`` or ``Failed`` expires at the condition's
``lastTransitionTime`` + TTL. Before that the key comes back exactly at the
expiry (on ``ctx.clock``; no polling); at expiry the Job is read again (the
TTL may have been changed or the Job recreated) and deleted with
``propagationPolicy: Foreground`` and a uid precondition — Kubernetes'
choice, so the Job disappears only after its pods.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from corral.client import Client, Preconditions
from corral.controller import Controller, Result, WorkQueue
from corral.kube.context import KubeContext
from corral.kube.job import conditions as cond
from corral.kube.podstatus import parse_time
from corral.kube.resources import JOBS
from corral.machinery.status import Conflict, NotFound, StatusError

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def expires_at(job: Mapping[str, Any]) -> datetime | None:
    """When a finished Job with a TTL expires (None: no TTL, not finished, or deleting)."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    meta = job.get("metadata") or {}
    if ttl is None or meta.get("deletionTimestamp"):
        return None
    state = cond.finished(job)
    if state is None:
        return None
    finished = cond.find(job, state) or {}
    moment = parse_time(finished.get("lastTransitionTime"))
    if moment is None:
        return None
    return moment + timedelta(seconds=int(ttl))


class TTLAfterFinishedController:
    """Deletes expired finished Jobs; a `Runnable`."""

    def __init__(self, ctx: KubeContext) -> None:
        self.client: Client = ctx.client
        self.now = ctx.now
        queue: WorkQueue[str] = WorkQueue("ttl-after-finished", clock=ctx.clock)
        self.controller = Controller(
            "ttl-after-finished",
            ctx.informers.informer(JOBS),
            workers=ctx.options.workers,
            queue=queue,
        )
        self.controller.on_change("expire", self.expire)

    async def run(self) -> None:
        await self.controller.run()

    async def stop(self) -> None:
        await self.controller.stop()

    def _left(self, job: Mapping[str, Any]) -> float | None:
        expiry = expires_at(job)
        return None if expiry is None else (expiry - self.now()).total_seconds()

    async def expire(self, key: str, job: Obj | None) -> Result | None:
        if job is None:
            return None
        left = self._left(job)
        if left is None:
            return None
        if left > 0:
            return Result(requeue_after=left)
        meta = job["metadata"]
        try:
            fresh = await self.client.get(JOBS, meta["name"], namespace=meta.get("namespace"))
        except NotFound:
            return None
        left = self._left(fresh)
        if left is None:
            return None
        if left > 0:
            return Result(requeue_after=left)
        uid = (fresh.get("metadata") or {}).get("uid")
        try:
            await self.client.delete(
                JOBS,
                meta["name"],
                namespace=meta.get("namespace"),
                propagation_policy="Foreground",
                preconditions=Preconditions(uid=uid),
            )
        except (NotFound, Conflict):
            return None  # gone, or another Job under the name now
        except StatusError:
            raise
        log.info("deleted job %s %.1fs after its TTL", key, -left)
        return None
