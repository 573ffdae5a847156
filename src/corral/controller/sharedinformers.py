"""`SharedInformers`: one informer per resource, shared by every controller that needs it.

The scheduler, the replicaset controller, the namespace controller and the
garbage collector all watch pods; four watches and four caches of the same
pods would cost four times the memory and API load for nothing. Controllers
ask this factory for an informer and get the one already made for that
resource (and namespace), with their handlers added to it. `start` runs every
informer made so far (and any made later, at once); `wait_for_sync` returns
when each has listed.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress

from corral.client import Client, ResourceRef
from corral.controller.informer import Informer


class SharedInformers:
    """Informers keyed by (resource, namespace); started and stopped together."""

    def __init__(self, client: Client, *, resync: float = 0) -> None:
        self.client = client
        self.resync = resync
        self._informers: dict[tuple[ResourceRef, str], Informer] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False

    def informer(self, resource: ResourceRef, namespace: str = "") -> Informer:
        """The shared informer of ``resource`` (in ``namespace``; "" = all namespaces)."""
        key = (resource, namespace)
        found = self._informers.get(key)
        if found is None:
            found = Informer(self.client, resource, namespace=namespace, resync=self.resync)
            self._informers[key] = found
            if self._started:
                self._run(found)
        return found

    def start(self) -> None:
        """Run every informer (those made later start when made)."""
        self._started = True
        for informer in self._informers.values():
            self._run(informer)

    def _run(self, informer: Informer) -> None:
        self._tasks.append(
            asyncio.create_task(informer.run(), name=f"informer {informer.resource}")
        )

    async def wait_for_sync(self) -> None:
        """Return once every informer made so far has completed its first list."""
        await asyncio.gather(*(i.wait_for_sync() for i in list(self._informers.values())))

    async def stop(self) -> None:
        await asyncio.gather(*(i.stop() for i in self._informers.values()))
        for task in self._tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._started = False
