"""Making controllers on the context's clock, and queueing keys into them from other informers.

`new_controller` builds a `Controller` whose work queue (delays, back-off)
runs on ``ctx.clock``, with ``ctx.options.workers`` workers.

Several built-in controllers are keyed by one resource but must react to
events of another (the service account controller is keyed by namespace and
hears of deleted service accounts; the garbage collector queues an owner's
dependents). A full queue must not break the informer's handler chain: the
key is logged and comes back at the next event or resync, as
`corral.controller.Controller` does for its own events.
"""

from __future__ import annotations

import logging

from corral.controller import (
    Controller,
    Informer,
    QueueFullError,
    WorkQueue,
    default_controller_rate_limiter,
)
from corral.kube.context import KubeContext

log = logging.getLogger(__name__)


def enqueue(controller: Controller, key: str) -> None:
    """Queue ``key`` for ``controller`` (a full queue is logged, not raised)."""
    try:
        controller.queue.add(key)
    except QueueFullError:
        log.warning("controller %s: queue full, %s waits for the next event", controller.name, key)


def new_controller(ctx: KubeContext, name: str, informer: Informer) -> Controller:
    """A controller of ``informer`` whose queue runs on ``ctx.clock``."""
    queue: WorkQueue[str] = WorkQueue(
        name, clock=ctx.clock, rate_limiter=default_controller_rate_limiter(ctx.clock)
    )
    return Controller(name, informer, workers=ctx.options.workers, queue=queue)
