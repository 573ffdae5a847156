"""`PodGC`: force-deletes pods no kubelet will ever finish.

A graceful delete only marks a pod (``deletionTimestamp``); the kubelet of
its node stops the containers and then removes the pod for good. When the
node is dead, or gone, nobody does, and the pod would stay ``Terminating``
forever, holding its name (a StatefulSet could not replace it). Kubernetes'
pod GC deletes such pods with ``gracePeriodSeconds=0``:

- *orphaned*: bound to a node that does not exist (checked against the API,
  not only the cache, before deleting);
- *terminating on a dead node*: being deleted, on a node whose Ready
  condition is not True.

Pods are keys of a `Controller` on the shared pod informer; a node that
goes not-ready or is deleted queues the pods on it.
"""

from __future__ import annotations

import logging
from typing import Any

from corral.client import Preconditions
from corral.controller import Controller, QueueFullError, Result, object_key
from corral.kube.context import KubeContext
from corral.kube.nodelifecycle.common import (
    condition_status,
    ensure_node_index,
    pod_name,
    pods_on,
)
from corral.kube.resources import NODES, PODS
from corral.machinery.status import Conflict, NotFound

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class PodGC:
    """Pod garbage collection of orphaned and stuck-terminating pods."""

    def __init__(self, ctx: KubeContext) -> None:
        self.client = ctx.client
        self.pods = ctx.informers.informer(PODS)
        self.nodes = ctx.informers.informer(NODES)
        ensure_node_index(self.pods)
        self.deleted = 0
        self.controller = Controller("pod-gc", self.pods, workers=1)
        self.controller.on_change("collect", self.collect)
        self.nodes.on_update(self._node_updated)
        self.nodes.on_delete(self._node_deleted)

    def _queue_pods(self, node: Obj) -> None:
        name = str((node.get("metadata") or {}).get("name") or "")
        for pod in pods_on(self.pods, name):
            try:
                self.controller.queue.add(object_key(pod))
            except QueueFullError:
                log.warning("pod-gc queue full; pod %s waits", object_key(pod))

    def _node_updated(self, old: Obj, node: Obj) -> None:
        if condition_status(old, "Ready") != condition_status(node, "Ready"):
            self._queue_pods(node)

    def _node_deleted(self, node: Obj) -> None:
        self._queue_pods(node)

    async def run(self) -> None:
        await self.controller.run()

    async def stop(self) -> None:
        await self.controller.stop()

    async def collect(self, key: str, pod: Obj | None) -> Result | None:
        if pod is None:
            return None
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name:
            return None
        node = self.nodes.get(node_name)
        if node is None:
            try:
                await self.client.get(NODES, node_name)
            except NotFound:
                await self._force_delete(pod, f"its node {node_name} does not exist")
            return None
        if (pod.get("metadata") or {}).get("deletionTimestamp") and (
            condition_status(node, "Ready") != "True"
        ):
            await self._force_delete(pod, f"it is terminating on node {node_name}, not ready")
        return None

    async def _force_delete(self, pod: Obj, why: str) -> None:
        namespace, name = pod_name(pod)
        uid = (pod.get("metadata") or {}).get("uid")
        try:
            await self.client.delete(
                PODS,
                name,
                namespace=namespace,
                grace_period_seconds=0,
                preconditions=Preconditions(uid=uid),
            )
        except (NotFound, Conflict):
            return
        self.deleted += 1
        log.info("force-deleted pod %s/%s: %s", namespace, name, why)
