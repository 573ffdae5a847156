"""`Scheduler`: the loop that takes pending pods one at a time and binds them to nodes.

Scheduling is not per-key reconciliation: every decision depends on every
earlier one (the node totals), so decisions are made by **one** loop, in
order, against the in-memory `SchedulerCache`; only the API writes (the
binding, status and events) run concurrently, bounded by a semaphore so a
burst cannot open thousands of requests.

The queue is a `WorkQueue` of pod keys (deduplicated, bounded). A pod that
fits nowhere is *parked* (``unschedulable``) with a per-pod back-off
(1 s doubling to 10 s, Kubernetes' defaults); it goes back to the queue —
once its back-off has passed — when something that could make room happens:
a node is added or changes in a way that matters (not a heartbeat), a
placed pod leaves, a bind fails. A parked pod is also retried after five
minutes regardless, as Kubernetes flushes its unschedulable pods. Nothing
polls.

Binding posts a ``Binding`` to ``pods/<name>/binding``: the API server sets
``spec.nodeName`` and ``PodScheduled`` in one write and refuses a pod that is
already bound.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from corral.client import PatchType
from corral.controller import QueueFullError, QueueShutDown, WorkQueue, get_condition, object_key
from corral.kube.context import KubeContext
from corral.kube.eventrecorder import NORMAL, WARNING, EventRecorder
from corral.kube.resources import NODES, PODS
from corral.kube.scheduler.algorithm import Decision, schedule
from corral.kube.scheduler.cache import SchedulerCache, node_signature
from corral.kube.scheduler.podinfo import pod_info
from corral.machinery.status import (
    AlreadyExists,
    Conflict,
    Invalid,
    NotFound,
    StatusError,
)

log = logging.getLogger(__name__)

SCHEDULER_NAME = "default-scheduler"
INITIAL_BACKOFF, MAX_BACKOFF = 1.0, 10.0
UNSCHEDULABLE_FLUSH = 300.0
MAX_IN_FLIGHT = 64
STOP_TIMEOUT = 5.0
NO_NODES = "no nodes available to schedule pods"

Obj = dict[str, Any]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def wants_scheduling(pod: Mapping[str, Any]) -> bool:
    """Pending, ours, not being deleted, not finished."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return False
    if (spec.get("schedulerName") or SCHEDULER_NAME) != SCHEDULER_NAME:
        return False
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def _terminal(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _spec_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    old_meta, new_meta = old.get("metadata") or {}, new.get("metadata") or {}
    return bool(
        old.get("spec") != new.get("spec")
        or old_meta.get("labels") != new_meta.get("labels")
        or old_meta.get("deletionTimestamp") != new_meta.get("deletionTimestamp")
    )


class Scheduler:
    """The default scheduler: a `Runnable` fed by the shared pod and node informers."""

    def __init__(
        self,
        ctx: KubeContext,
        recorder: EventRecorder,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
        rng: random.Random | None = None,
    ) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.recorder = recorder
        self.rng = rng or random.Random()  # noqa: S311 - tie-breaking, not security
        self.cache = SchedulerCache()
        self.queue: WorkQueue[str] = WorkQueue("scheduler", clock=ctx.clock)
        # Pods that failed and wait for a change (parked), then for the end of their back-off
        # (moved to the queue's delayed adds); key -> end of the back-off on ctx.clock.
        self.unschedulable: dict[str, float] = {}
        self.backing_off: dict[str, float] = {}
        self.attempts: dict[str, int] = {}
        self.scheduled = 0
        self.failed = 0
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self.pods = ctx.informers.informer(PODS)
        self.nodes = ctx.informers.informer(NODES)
        self.pods.on_add(lambda pod: self._pod_changed(None, pod))
        self.pods.on_update(self._pod_changed)
        self.pods.on_delete(self._pod_deleted)
        self.nodes.on_add(self._node_added)
        self.nodes.on_update(self._node_updated)
        self.nodes.on_delete(self._node_deleted)

    # -- informer events (synchronous, cheap) ------------------------------------

    def _pod_changed(self, old: Obj | None, pod: Obj) -> None:
        key = object_key(pod)
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            self._forget_pending(key)
            if _terminal(pod):
                if self.cache.remove_pod(key) is not None:
                    self._move_all()
                return
            known = self.cache.pods.get(key)
            uid = (pod.get("metadata") or {}).get("uid") or ""
            if known is not None and known.node_name == node and known.uid == uid:
                self.cache.confirm(key)
            else:
                self.cache.add_pod(pod_info(key, pod))
            return
        if not wants_scheduling(pod):
            self._forget_pending(key)
            return
        if self.cache.is_assumed(key):
            return  # being bound; the bound copy follows
        if key in self.unschedulable:
            if old is not None and _spec_changed(old, pod):
                self._move_one(key)
            return  # else our own status write, or nothing that could change the outcome
        if key in self.backing_off:
            return  # already queued for the end of its back-off
        self._add(key)

    def _pod_deleted(self, pod: Obj) -> None:
        key = object_key(pod)
        self._forget_pending(key)
        if self.cache.remove_pod(key) is not None:
            self._move_all()

    def _node_added(self, node: Obj) -> None:
        self.cache.set_node(node)
        self._move_all()

    def _node_updated(self, old: Obj, node: Obj) -> None:
        self.cache.set_node(node)
        if node_signature(old) != node_signature(node):
            self._move_all()

    def _node_deleted(self, node: Obj) -> None:
        self.cache.remove_node(str((node.get("metadata") or {}).get("name") or ""))

    def _forget_pending(self, key: str) -> None:
        self.unschedulable.pop(key, None)
        self.backing_off.pop(key, None)
        self.attempts.pop(key, None)

    def _move_all(self) -> None:
        """Something may have made room: parked pods go back once their back-off ends."""
        if not self.unschedulable:
            return
        now = self.clock.now()
        parked, self.unschedulable = self.unschedulable, {}
        self.backing_off.update(parked)
        for key, until in parked.items():
            self._add_after(key, until - now)

    def _add(self, key: str) -> None:
        try:
            self.queue.add(key)
        except QueueFullError:
            log.warning("scheduler queue full; %s waits for the next event", key)

    def _add_after(self, key: str, seconds: float) -> None:
        try:
            self.queue.add_after(key, seconds)
        except QueueFullError:
            log.warning("scheduler queue full; %s waits for the next event", key)

    # -- the loop -------------------------------------------------------------------

    async def run(self) -> None:
        await asyncio.gather(self.pods.wait_for_sync(), self.nodes.wait_for_sync())
        log.info("scheduler started", extra={"nodes": self.cache.node_count})
        while True:
            try:
                key = await self.queue.get()
            except QueueShutDown:
                return
            try:
                await self.schedule_one(key)
            except Exception:
                log.exception("scheduling %s failed", key)
                self._park(key)
                self._move_one(key)
            finally:
                self.queue.done(key)

    async def stop(self) -> None:
        self.queue.shutdown()
        if self._tasks:
            with suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*self._tasks, return_exceptions=True), STOP_TIMEOUT
                )
        for task in list(self._tasks):
            task.cancel()

    async def schedule_one(self, key: str) -> Decision | None:
        """Decide for one pod; start its bind (or report it unschedulable)."""
        pod = self.pods.get(key)
        if pod is None or not wants_scheduling(pod) or self.cache.is_assumed(key):
            return None
        self.unschedulable.pop(key, None)
        self.backing_off.pop(key, None)
        info = pod_info(key, pod)
        decision = schedule(info, self.cache.schedulable_nodes(), self.rng)
        if decision.node:
            self.cache.assume(info, decision.node)
            await self._spawn(self._bind(pod, decision.node))
        else:
            self.failed += 1
            self._park(key)
            message = decision.message if decision.considered else NO_NODES
            await self._spawn(self._report_unschedulable(pod, message))
        return decision

    def _park(self, key: str) -> None:
        attempts = self.attempts.get(key, 0) + 1
        self.attempts[key] = attempts
        backoff = min(INITIAL_BACKOFF * 2 ** (attempts - 1), MAX_BACKOFF)
        self.unschedulable[key] = self.clock.now() + backoff
        self._add_after(key, UNSCHEDULABLE_FLUSH)

    async def _spawn(self, work: Any) -> None:
        await self._slots.acquire()
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    # -- writes ---------------------------------------------------------------------

    async def _bind(self, pod: Obj, node: str) -> None:
        key = object_key(pod)
        meta = pod.get("metadata") or {}
        namespace, name = meta.get("namespace") or "default", meta.get("name") or ""
        try:
            await self.bind(pod, node)
        except NotFound:
            self.cache.forget(key)  # the pod is gone
            self._move_all()
        except (Conflict, AlreadyExists, Invalid) as err:
            log.info("binding %s to %s refused: %s", key, node, err)
            self.cache.forget(key)
            self._move_all()
            self._add_after(key, INITIAL_BACKOFF)  # re-decide from what the informer shows
        except Exception as err:
            log.warning("binding %s to %s failed: %s", key, node, err)
            self.cache.forget(key)
            self._move_all()
            self._park(key)
            self._move_one(key)
        else:
            self.scheduled += 1
            self.recorder.record(
                pod,
                NORMAL,
                "Scheduled",
                f"Successfully assigned {namespace}/{name} to {node}",
                action="Binding",
            )

    def _move_one(self, key: str) -> None:
        until = self.unschedulable.pop(key, None)
        if until is not None:
            self.backing_off[key] = until
            self._add_after(key, until - self.clock.now())

    async def bind(self, pod: Obj, node: str) -> None:
        """Bind through ``pods/binding``."""
        meta = pod.get("metadata") or {}
        namespace, name = meta.get("namespace") or "default", meta.get("name") or ""
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": name, "namespace": namespace, "uid": meta.get("uid")},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        await self.client.request(
            "POST", PODS.path(namespace, name, "binding"), body=binding, idempotent=False
        )

    async def _set_condition(self, namespace: str, name: str, condition: Obj) -> None:
        """Merge ``condition`` into the pod's ``status.conditions`` (by type)."""
        await self.client.patch(
            PODS,
            name,
            {"status": {"conditions": [condition]}},
            namespace=namespace,
            subresource="status",
            patch_type=PatchType.STRATEGIC,
        )

    async def _report_unschedulable(self, pod: Obj, message: str) -> None:
        meta = pod.get("metadata") or {}
        namespace, name = meta.get("namespace") or "default", meta.get("name") or ""
        self.recorder.record(pod, WARNING, "FailedScheduling", message, action="Scheduling")
        current = get_condition(pod, "PodScheduled")
        if (
            current is not None
            and current.get("status") == "False"
            and current.get("reason") == "Unschedulable"
            and current.get("message") == message
        ):
            return
        condition = {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": message,
            "lastProbeTime": None,
            "lastTransitionTime": _now()
            if current is None or current.get("status") != "False"
            else current.get("lastTransitionTime"),
        }
        try:
            await self._set_condition(namespace, name, condition)
        except NotFound:
            pass
        except StatusError as err:
            log.info("could not mark %s/%s unschedulable: %s", namespace, name, err)
