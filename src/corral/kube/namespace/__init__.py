"""The namespace lifecycle controller: a deleted namespace empties itself, then goes.

Kubernetes' namespace controller, as Corral runs it. It watches namespaces;
for one marked deleted it runs a pass of `NamespaceDeleter` (`deleter`):
delete every namespaced object of every discovered resource, report the
conditions (`conditions`), and finalize the namespace once nothing is left.
While content remains (objects with finalizers, pods in their grace period)
the namespace is looked at again after Kubernetes' estimate — half of it
plus a second — but sooner at first (0.5 s, doubling), so a namespace whose
last finalizer goes quickly does not wait the full estimate.
"""

from __future__ import annotations

from corral.controller import Result
from corral.controller.indexer import Obj
from corral.kube.context import KubeContext, Runnable
from corral.kube.enqueue import new_controller
from corral.kube.namespace.deleter import FINALIZER, NamespaceDeleter, NamespaceDeletionError
from corral.kube.resources import NAMESPACES

__all__ = ["FINALIZER", "NamespaceDeleter", "NamespaceDeletionError", "build"]

_FIRST_RECHECK = 0.5


class NamespaceController:
    """Runs deletion passes for terminating namespaces and schedules the next look."""

    def __init__(self, ctx: KubeContext) -> None:
        self.deleter = NamespaceDeleter(ctx.client)
        self._passes: dict[str, int] = {}  # terminating namespaces with content left

    async def sync(self, key: str, obj: Obj | None) -> Result | None:
        if obj is None or not (obj.get("metadata") or {}).get("deletionTimestamp"):
            self._passes.pop(key, None)
            return None
        estimate = await self.deleter.delete(key)
        if estimate <= 0:
            self._passes.pop(key, None)
            return None
        passes = self._passes.get(key, 0)
        self._passes[key] = min(passes + 1, 16)
        later = estimate // 2 + 1  # Kubernetes' integer arithmetic
        return Result(requeue_after=min(later, _FIRST_RECHECK * 2**passes))


def build(ctx: KubeContext) -> list[Runnable]:
    informer = ctx.informers.informer(NAMESPACES)
    controller = new_controller(ctx, "namespace", informer)
    controller.on_change("delete-content", NamespaceController(ctx).sync)
    return [controller]
