"""Pods on simulated nodes: one shared watch, a work queue, status writes.

Why one watch for every simulated node: a kubelet watches its own pods with
``fieldSelector=spec.nodeName=<node>``; 50 simulated nodes doing that would
hold 50 watches, and every pod event would be matched against 50 selectors
in the API server and sent down the watches that match. Here one informer
watches all pods (as the first node's identity: nodes may read pods) and
filters in-process: a pod whose ``spec.nodeName`` is not a simulated node
costs one dict lookup. Keys go to one bounded `WorkQueue` drained by a few
workers, so 3,000 pods are synced by ``workers`` coroutines, not 3,000.

Per pod the sync is level-triggered and time-driven (`corral.node.runtime`):
bring the node's `PodRuntime` to now, compute the status (`podstatus`), write
it through ``pods/status`` if it changed (the body pins the resourceVersion
read; a 409 re-reads the pod and retries), and re-queue the key for the
next moment something changes by itself (a start, readiness, an exit).
Each write is made as the pod's own node.

Deletion: a pod with a ``deletionTimestamp`` (graceful deletion) has its
containers stopped (the status says so), then the node deletes it with
``gracePeriodSeconds=0`` and a uid precondition, as a kubelet does. A pod
deleted outright just disappears from the watch; the node forgets it and
frees its IP either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from corral.client import Client, Preconditions
from corral.controller import Informer, QueueShutDown, WorkQueue, object_key
from corral.machinery.status import Conflict, NotFound
from corral.node.addresses import PodIPs
from corral.node.nodeobject import NodeIdentity
from corral.node.options import SimulatedNodeOptions
from corral.node.podstatus import pod_status
from corral.node.refs import PODS
from corral.node.runtime import PodRuntime, adopt, advance, exit_plan, kill, next_event

log = logging.getLogger("corral.node")

Obj = dict[str, Any]
_TERMINAL = ("Succeeded", "Failed")
_CONFLICT_RETRIES = 3


@dataclass(slots=True)
class NodeHandle:
    """What the pod sync needs of one node: who it is, how it writes, its IPs."""

    ident: NodeIdentity
    client: Client
    ips: PodIPs


def _node_of(pod: Obj) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


class PodSync:
    """Reports the pods bound to simulated nodes as a kubelet would."""

    def __init__(
        self,
        nodes: dict[str, NodeHandle],
        watch_client: Client,
        options: SimulatedNodeOptions,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.nodes = nodes
        self.options = options
        self.clock = clock
        self.informer = Informer(watch_client, PODS)
        self.queue: WorkQueue[str] = WorkQueue("simulated-node-pods")
        #: What each node runs, by pod uid (read by the log connector too).
        self.runtimes: dict[str, PodRuntime] = {}
        self.informer.on_add(self._offer)
        self.informer.on_update(lambda _old, new: self._offer(new))
        self.informer.on_delete(self._gone)
        self._tasks: list[asyncio.Task[None]] = []

    # -- feeding the queue -------------------------------------------------

    def _offer(self, pod: Obj) -> None:
        if _node_of(pod) in self.nodes:
            self.queue.add(object_key(pod))

    def _gone(self, pod: Obj) -> None:
        self.forget(str((pod.get("metadata") or {}).get("uid", "")))

    def forget(self, uid: str) -> None:
        rt = self.runtimes.pop(uid, None)
        if rt is not None and rt.node in self.nodes:
            self.nodes[rt.node].ips.release(uid)

    # -- running -----------------------------------------------------------

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self.informer.run(), name="simulated-pods informer"))
        for i in range(self.options.workers):
            self._tasks.append(asyncio.create_task(self._worker(), name=f"simulated-pods {i}"))

    async def stop(self) -> None:
        self.queue.shutdown()
        await self.informer.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except QueueShutDown:
                return
            try:
                await self.sync(key)
                self.queue.forget(key)
            except Exception:
                log.exception("simulated nodes: syncing pod %s failed", key)
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    # -- one pod -------------------------------------------------------------

    async def sync(self, key: str) -> None:
        pod = self.informer.get(key)
        if pod is None:
            return
        node = self.nodes.get(_node_of(pod))
        if node is None:
            return
        for _ in range(_CONFLICT_RETRIES):
            try:
                await self._sync_pod(key, pod, node)
                return
            except Conflict:
                meta = pod.get("metadata") or {}
                try:
                    pod = await node.client.get(
                        PODS, str(meta.get("name")), namespace=str(meta.get("namespace"))
                    )
                except NotFound:
                    return
                if (pod.get("metadata") or {}).get("uid") != meta.get("uid"):
                    return
        raise Conflict("pods", key)

    async def _sync_pod(self, key: str, pod: Obj, node: NodeHandle) -> None:
        now = self.clock()
        meta = pod.get("metadata") or {}
        uid = str(meta.get("uid", ""))
        rt = self.runtimes.get(uid) or self._runtime(pod, node, now)
        if rt is None:
            return
        if meta.get("deletionTimestamp"):
            await self._finish_deletion(pod, rt, node, now)
            return
        options = self.options
        advance(rt, pod, now, options.restart_backoff, options.max_restart_backoff)
        await self._report(pod, rt, node, now)
        due = next_event(rt, pod, now, options.restart_backoff, options.max_restart_backoff)
        if due is not None:
            self.queue.add_after(key, max(0.0, due - self.clock()) + 0.001)

    def _runtime(self, pod: Obj, node: NodeHandle, now: float) -> PodRuntime | None:
        meta = pod.get("metadata") or {}
        status = pod.get("status") or {}
        uid = str(meta.get("uid", ""))
        rt = PodRuntime(
            uid=uid,
            namespace=str(meta.get("namespace", "")),
            name=str(meta.get("name", "")),
            node=node.ident.name,
            seen=now,
            start_at=now + self.options.pod_start_delay,
            pod_ip="",
            plan=exit_plan(pod),
        )
        adopted = adopt(rt, pod)
        if not adopted and status.get("phase") in _TERMINAL:
            return None  # finished before this node knew it: nothing to report
        if (pod.get("spec") or {}).get("hostNetwork"):
            rt.pod_ip = node.ident.internal_ip
        else:
            reported = str(status.get("podIP") or "")
            if adopted and reported and node.ips.owns(reported):
                rt.pod_ip = node.ips.adopt(uid, reported)
            else:
                ip = node.ips.allocate(uid)
                if ip is None:
                    log.warning(
                        "node %s: no pod IP left for %s/%s", node.ident.name, rt.namespace, rt.name
                    )
                    return None
                rt.pod_ip = ip
        self.runtimes[uid] = rt
        return rt

    async def _finish_deletion(
        self, pod: Obj, rt: PodRuntime, node: NodeHandle, now: float
    ) -> None:
        if rt.started:
            if rt.killed is None:
                kill(rt, now)
            await self._report(pod, rt, node, now)
        if rt.delete_sent:
            return
        meta = pod.get("metadata") or {}
        with contextlib.suppress(NotFound, Conflict):
            await node.client.delete(
                PODS,
                str(meta.get("name")),
                namespace=str(meta.get("namespace")),
                grace_period_seconds=0,
                preconditions=Preconditions(uid=rt.uid),
            )
        rt.delete_sent = True

    async def _report(self, pod: Obj, rt: PodRuntime, node: NodeHandle, now: float) -> None:
        desired = pod_status(pod, rt, node.ident.internal_ip, now)
        current = pod.get("status") or {}
        if desired == current:
            return
        if rt.reported is not None and rt.reported == (desired, current):
            return  # the server stores it in its own form; nothing new to say
        try:
            written = await node.client.update(
                PODS, {**pod, "status": desired}, subresource="status"
            )
        except NotFound:
            return
        rt.reported = (desired, written.get("status") or {})
