"""The default scheduler: binds each pending pod to a node that fits it.

Kubernetes' ``kube-scheduler`` rebuilt small, as one controller of ``corral
server``. Pieces, each in its own module:

- `podinfo`: a pod parsed once (requests in integer units, constraints, ports);
- `affinity`: node selector terms (required and preferred node affinity);
- `cache`: nodes with running totals of the pods placed on them, and
  *assumed* pods (bound by us, not yet seen bound by the informer);
- `algorithm`: filters, scores, the choice, and the "0/3 nodes are
  available: …" message;
- `runner`: the single decision loop, its back-off queue of unschedulable
  pods, the binding, the ``PodScheduled`` condition and the events.

The design note is docs/kube.md ("Scheduler").
"""

from __future__ import annotations

from corral.kube.context import KubeContext, Runnable
from corral.kube.eventrecorder import EventRecorder
from corral.kube.scheduler.runner import SCHEDULER_NAME, Scheduler

__all__ = ["SCHEDULER_NAME", "Scheduler", "build"]


def build(ctx: KubeContext) -> list[Runnable]:
    recorder = EventRecorder(ctx.client, SCHEDULER_NAME)
    return [Scheduler(ctx, recorder), recorder]
