"""`TaintEviction`: pods leave nodes with NoExecute taints they do not tolerate.

Kubernetes' taint manager (``NoExecuteTaintManager``), per pod:

- no NoExecute taint on its node: nothing to do (a deletion planned earlier
  is cancelled, with a ``Cancelling deletion`` event);
- a NoExecute taint no toleration matches: the pod is deleted now;
- every such taint tolerated, some only for ``tolerationSeconds``: the pod is
  deleted that many seconds after the taint's ``timeAdded`` (the earliest
  such moment over all taints); tolerated without a limit: it stays.

Counting from ``timeAdded`` rather than from when this controller first saw
the taint means a new leader does not restart the count. The deletion is
graceful (the pod's own grace period) with a uid precondition; pod GC
force-deletes what stays terminating on a dead node. Each deletion is
recorded as a ``TaintManagerEviction`` event.

Pods are keys of a `Controller` on the shared pod informer; a node whose
NoExecute taints change queues every pod on it. A planned deletion is a
``Result(requeue_after=…)``, so no timer per pod and no polling.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from corral.client import Preconditions
from corral.controller import Controller, QueueFullError, Result, object_key
from corral.kube.context import KubeContext
from corral.kube.eventrecorder import NORMAL, EventRecorder
from corral.kube.nodelifecycle.common import (
    ensure_node_index,
    parse_time,
    pod_name,
    pods_on,
    wall_now,
)
from corral.kube.resources import NODES, PODS
from corral.kube.taints import NO_EXECUTE, node_taints, pod_tolerations, toleration_seconds
from corral.machinery.status import Conflict, NotFound

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def eviction_delay(
    node: Obj, pod: Obj, first_seen: dict[tuple[str, str], float], now_wall: float
) -> float | None:
    """Seconds until ``pod`` must leave ``node`` (0 = now), or None if it may stay.

    ``first_seen`` holds, per (key, effect) of a taint without ``timeAdded``,
    when it was first seen (wall seconds); it is filled in as needed.
    """
    tolerations = pod_tolerations(pod)
    deadline: float | None = None
    for taint in node_taints(node):
        if taint.get("effect") != NO_EXECUTE:
            continue
        seconds = toleration_seconds(taint, tolerations)
        if seconds is None:
            continue
        if seconds <= 0:
            return 0.0
        added = parse_time(taint.get("timeAdded"))
        if added is not None:
            start = added.timestamp()
        else:
            start = first_seen.setdefault(
                (str(taint.get("key")), str(taint.get("effect"))), now_wall
            )
        at = start + seconds
        deadline = at if deadline is None else min(deadline, at)
    if deadline is None:
        return None
    return max(0.0, deadline - now_wall)


def _no_execute(node: Obj | None) -> list[tuple[Any, ...]]:
    if node is None:
        return []
    return sorted(
        (str(t.get("key")), str(t.get("value")), str(t.get("timeAdded")))
        for t in node_taints(node)
        if t.get("effect") == NO_EXECUTE
    )


class TaintEviction:
    """Taint-based eviction as a `Controller` over pods."""

    def __init__(self, ctx: KubeContext, recorder: EventRecorder) -> None:
        self.client = ctx.client
        self.recorder = recorder
        self.pods = ctx.informers.informer(PODS)
        self.nodes = ctx.informers.informer(NODES)
        ensure_node_index(self.pods)
        self.planned: set[str] = set()  # pods with a deletion planned
        self.evicted = 0
        self._first_seen: dict[str, dict[tuple[str, str], float]] = {}
        self.controller = Controller("taint-eviction", self.pods, workers=ctx.options.workers)
        self.controller.on_change("evict", self.evict)
        self.nodes.on_add(lambda node: self._node_changed(None, node))
        self.nodes.on_update(self._node_changed)
        self.nodes.on_delete(self._node_deleted)

    def _node_changed(self, old: Obj | None, node: Obj) -> None:
        if _no_execute(old) == _no_execute(node):
            return
        name = _name(node)
        if not _no_execute(node):
            self._first_seen.pop(name, None)
        for pod in pods_on(self.pods, name):
            try:
                self.controller.queue.add(object_key(pod))
            except QueueFullError:
                log.warning("taint-eviction queue full; pod %s waits", object_key(pod))

    def _node_deleted(self, node: Obj) -> None:
        self._first_seen.pop(_name(node), None)

    async def run(self) -> None:
        await self.controller.run()

    async def stop(self) -> None:
        await self.controller.stop()

    async def evict(self, key: str, pod: Obj | None) -> Result | None:
        if pod is None:
            self.planned.discard(key)
            return None
        node_name = str((pod.get("spec") or {}).get("nodeName") or "")
        node = self.nodes.get(node_name) if node_name else None
        if node is None or (pod.get("metadata") or {}).get("deletionTimestamp"):
            self.planned.discard(key)
            return None
        now = wall_now().timestamp()
        delay = eviction_delay(node, pod, self._first_seen.setdefault(node_name, {}), now)
        namespace, name = pod_name(pod)
        if delay is None:
            if key in self.planned:
                self.planned.discard(key)
                self.recorder.record(
                    pod, NORMAL, "TaintManagerEviction", f"Cancelling deletion of Pod {key}"
                )
            return None
        if delay > 0:
            if key not in self.planned:
                self.planned.add(key)
                when = wall_now() + timedelta(seconds=delay)
                log.info("pod %s will be evicted from %s at %s", key, node_name, when)
            return Result(requeue_after=delay)
        self.planned.discard(key)
        uid = (pod.get("metadata") or {}).get("uid")
        try:
            await self.client.delete(
                PODS, name, namespace=namespace, preconditions=Preconditions(uid=uid)
            )
        except NotFound:
            return None
        except Conflict as err:  # the uid precondition failed: another pod by that name now
            log.info("evicting %s: %s", key, err)
            return None
        self.evicted += 1
        log.info("evicted pod %s from node %s (NoExecute taint)", key, node_name)
        self.recorder.record(
            pod, NORMAL, "TaintManagerEviction", f"Marking for deletion Pod {namespace}/{name}"
        )
        return None


def _name(node: Obj) -> str:
    return str((node.get("metadata") or {}).get("name") or "")
