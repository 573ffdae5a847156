"""The garbage collector: objects whose owners are gone go too (ownerReferences).

Kubernetes' garbage collector, as Corral runs it. Objects name their owners
in ``metadata.ownerReferences``; when an owner is deleted its dependents are
deleted after it (Background), before it (Foreground: the owner carries the
``foregroundDeletion`` finalizer until its blocking dependents are gone), or
kept without the reference (Orphan: the ``orphan`` finalizer).

- `monitors`: which resources are watched (every deletable one, custom
  resources included, re-discovered periodically and on CRD changes);
- `graph`: the index of dependents by owner uid, built from informer events;
- `collector`: what is done for one object, Kubernetes' rules;
- `ownerrefs`: reading and safely editing owner references.

`GarbageCollector` is the runnable the controller manager starts: it
discovers, waits (bounded) for the caches, then runs one controller per
watched resource, all feeding the same decisions.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from corral.kube.context import KubeContext, Runnable
from corral.kube.garbagecollector.collector import Collector
from corral.kube.garbagecollector.graph import DependentsIndex
from corral.kube.garbagecollector.monitors import RESYNC_PERIOD, Monitors
from corral.kube.garbagecollector.ownerrefs import FOREGROUND, ORPHAN

__all__ = [
    "FOREGROUND",
    "ORPHAN",
    "RESYNC_PERIOD",
    "Collector",
    "DependentsIndex",
    "GarbageCollector",
    "Monitors",
    "build",
]

log = logging.getLogger(__name__)

SYNC_TIMEOUT = 30.0
"""How long the first start waits for every watched resource to be listed."""
_RETRY_MIN, _RETRY_MAX = 0.5, 30.0


class GarbageCollector:
    """Discovery, monitors and the collector, run as one part of the controller manager."""

    def __init__(self, ctx: KubeContext) -> None:
        self.ctx = ctx
        self.collector = Collector(ctx.client)
        self.monitors = Monitors(ctx, self.collector.setup)
        self.collector.monitors = self.monitors
        self._stopped = asyncio.Event()

    async def run(self) -> None:
        delay = _RETRY_MIN
        while True:
            try:
                await self.monitors.discover()
                break
            except Exception:
                log.exception("garbage collector: discovery failed, retrying")
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), delay)
                if self._stopped.is_set():
                    return
                delay = min(delay * 2, _RETRY_MAX)
        if not await self.monitors.wait_synced(SYNC_TIMEOUT):
            log.warning("garbage collector: some resources not listed in time; starting anyway")
        self.monitors.start_controllers()
        resync = asyncio.create_task(self.monitors.resync_loop(), name="gc-discovery")
        try:
            await self._stopped.wait()
        finally:
            resync.cancel()
            with suppress(asyncio.CancelledError):
                await resync

    async def stop(self) -> None:
        self._stopped.set()
        await self.monitors.stop()


def build(ctx: KubeContext) -> list[Runnable]:
    return [GarbageCollector(ctx)]
