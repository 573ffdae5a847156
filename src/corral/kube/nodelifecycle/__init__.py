"""Node lifecycle: dead nodes are noticed, tainted, emptied, and their pods collected.

Kubernetes' node lifecycle controller, taint manager and pod GC, as three
small controllers started together under the name ``nodelifecycle``:

- `health` (`NodeHealth`): heartbeats (node Lease, Ready condition) older than
  ``node_monitor_grace_period`` make every condition ``Unknown``; the Ready
  condition (and pressure conditions, ``spec.unschedulable``) decide the
  node's ``node.kubernetes.io/*`` taints;
- `eviction` (`TaintEviction`): pods leave nodes with NoExecute taints they
  do not tolerate, at once or after ``tolerationSeconds``;
- `podgc` (`PodGC`): pods terminating on dead nodes, and pods bound to nodes
  that do not exist, are deleted with grace period 0.

The design note is docs/kube.md ("Node lifecycle").
"""

from __future__ import annotations

from corral.kube.context import KubeContext, Runnable
from corral.kube.eventrecorder import EventRecorder
from corral.kube.nodelifecycle.eviction import TaintEviction
from corral.kube.nodelifecycle.health import NodeHealth
from corral.kube.nodelifecycle.podgc import PodGC

__all__ = ["NodeHealth", "PodGC", "TaintEviction", "build"]

COMPONENT = "node-controller"
EVICTION_COMPONENT = "taint-eviction-controller"


def build(ctx: KubeContext) -> list[Runnable]:
    recorder = EventRecorder(ctx.client, COMPONENT)
    eviction_recorder = EventRecorder(ctx.client, EVICTION_COMPONENT)
    return [
        NodeHealth(ctx, recorder),
        TaintEviction(ctx, eviction_recorder),
        PodGC(ctx),
        recorder,
        eviction_recorder,
    ]
