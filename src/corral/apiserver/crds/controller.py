"""The CRD controller: what the stored CRDs say, the server serves.

It follows the CRD watch cache (one task, events in order). For each CRD:

- names checked against the other served types of its group (`status`);
  when accepted, one `ResourceType` per served version goes into the
  registry (`types`), a watch cache starts for the CRD's storage prefix, and
  the discovery and OpenAPI documents are rebuilt (``on_change``);
- the CRD's status (conditions, acceptedNames, storedVersions) is written
  through the ``status`` subresource, only when it differs;
- a CRD being deleted (``deletionTimestamp``) stops being served at once, gets
  the ``Terminating`` condition, loses all its objects and then its cleanup
  finalizer (`cleanup`); a CRD gone from storage stops being served.

`wait_until_served` lets a CRD create answer once its kind is served.
`synced` is set once every CRD stored at start-up has been handled, so
``/readyz`` can wait for it. A failure on one CRD is logged and retried on
the next event of that CRD or after `RETRY_SECONDS`, never stopping the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import orjson

from corral.apiserver.crds.cleanup import delete_all, remove_cleanup_finalizer
from corral.apiserver.crds.status import desired_status, find_conflict
from corral.apiserver.crds.types import CRD_GROUP, CRD_RESOURCE, accepted_names, resource_types
from corral.apiserver.registry import Registry, ResourceType
from corral.apiserver.store import mutate_object
from corral.apiserver.watchcache import DELETED, CacheEvent, WatchCaches
from corral.machinery.status import NotFound, StatusError
from corral.storage import Backend, BackendClosedError, StorageError

log = logging.getLogger("corral.apiserver.crds")

RETRY_SECONDS = 1.0
#: How long a CRD create waits for the new kind to be served before answering.
SERVE_WAIT_SECONDS = 2.0
Obj = dict[str, Any]


class CRDController:
    """Keeps the registry, caches and CRD statuses in line with the stored CRDs."""

    def __init__(
        self,
        backend: Backend,
        registry: Registry,
        caches: WatchCaches,
        on_change: Callable[[], None],
    ) -> None:
        self._backend = backend
        self._registry = registry
        self._caches = caches
        self._on_change = on_change
        crd_rt = registry.lookup(CRD_GROUP, "v1", CRD_RESOURCE)
        assert crd_rt is not None
        self._crd_rt: ResourceType = crd_rt
        #: What each served CRD is served from (spec + accepted names), to skip no-ops.
        self._served: dict[str, bytes] = {}
        self._failed: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self.synced = asyncio.Event()

    @property
    def prefix(self) -> str:
        return self._crd_rt.storage_prefix

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="crd-controller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        cache = self._caches[self.prefix]
        while True:
            await cache.synced.wait()
            watcher, initial, _ = cache.watch(self.prefix, None)
            current = {e.object.key[len(self.prefix) :] for e in initial}
            for gone in set(self._served) - current:
                await self._forget(gone)
            for first in initial:
                await self.handle(first.object.obj)
            self.synced.set()
            while True:
                try:
                    event = await self._next(watcher.queue)
                except TimeoutError:
                    await self._retry_failed(cache.get)
                    continue
                if event is None:
                    break  # the cache re-listed: start over from its state
                name = event.object.key[len(self.prefix) :]
                if event.type == DELETED:
                    await self._forget(name)
                else:
                    await self.handle(event.object.obj)

    @staticmethod
    async def _next(queue: asyncio.Queue[CacheEvent | None]) -> CacheEvent | None:
        async with asyncio.timeout(RETRY_SECONDS):
            return await queue.get()

    async def _retry_failed(self, get: Callable[[str], Any]) -> None:
        for name in list(self._failed):
            cached = get(self.prefix + name)
            if cached is None:
                self._failed.discard(name)
            else:
                await self.handle(cached.obj)

    async def handle(self, crd: Obj) -> None:
        """Reconcile one CRD (never raises; failures are retried)."""
        name = str(crd["metadata"].get("name") or "")
        try:
            if crd["metadata"].get("deletionTimestamp"):
                await self._finalize(crd)
            else:
                await self._serve(crd)
            self._failed.discard(name)
        except BackendClosedError:
            raise
        except (StatusError, StorageError, OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("crd reconcile failed", extra={"crd": name, "error": str(exc)})
            self._failed.add(name)

    async def _serve(self, crd: Obj) -> None:
        name = crd["metadata"]["name"]
        names = accepted_names(crd)
        others = [
            t for t in self._registry.types() if t.custom is None or t.custom.crd_name != name
        ]
        conflict = find_conflict(crd, names, others)
        if conflict is None:
            fingerprint = orjson.dumps([crd.get("spec"), names], option=orjson.OPT_SORT_KEYS)
            if self._served.get(name) != fingerprint:
                types = resource_types(crd, names)
                self._registry.set_custom(name, types)
                for rt in types:
                    self._caches.add(rt.storage_prefix)
                self._served[name] = fingerprint
                self._on_change()
                log.info("crd served", extra={"crd": name})
        await self._write_status(name, conflict, terminating=False)

    async def _write_status(self, name: str, conflict: Any, *, terminating: bool) -> None:
        def mutate(current: Obj) -> Obj:
            current["metadata"].pop("resourceVersion", None)
            current["status"] = desired_status(current, conflict, terminating)
            return current

        with contextlib.suppress(NotFound):
            await mutate_object(self._backend, self._crd_rt, "", name, mutate, subresource="status")

    async def _finalize(self, crd: Obj) -> None:
        name = crd["metadata"]["name"]
        prefixes = {rt.storage_prefix for rt in self._registry.custom(name)}
        spec = crd.get("spec") or {}
        prefixes.add(f"/registry/{spec.get('group', '')}/{accepted_names(crd).get('plural', '')}/")
        # Never a built-in kind's objects (a CRD whose names were refused).
        prefixes -= {rt.storage_prefix for rt in self._registry.builtin_types()}
        await self._unserve(name)
        await self._write_status(name, None, terminating=True)
        for prefix in prefixes:
            deleted = await delete_all(self._backend, prefix)
            log.info("crd objects deleted", extra={"crd": name, "count": deleted})
            await self._caches.remove(prefix)
        await remove_cleanup_finalizer(self._backend, self._crd_rt, name)

    async def _unserve(self, name: str) -> None:
        if self._registry.custom(name) or name in self._served:
            self._registry.remove_custom(name)
            self._served.pop(name, None)
            self._on_change()
            log.info("crd no longer served", extra={"crd": name})

    async def _forget(self, name: str) -> None:
        prefixes = {rt.storage_prefix for rt in self._registry.custom(name)}
        await self._unserve(name)
        self._failed.discard(name)
        for prefix in prefixes:
            await self._caches.remove(prefix)


async def wait_until_served(registry: Registry, crd_name: str) -> None:
    """Wait (briefly, bounded) until CRD ``crd_name`` is served.

    Decision: a CRD create answers once its kind is served (or after
    `SERVE_WAIT_SECONDS`), so a client that creates a CRD and then, at once,
    objects of it (``kubectl apply -f`` of one file: kubectl re-reads
    discovery once on an unknown kind) finds the kind. Kubernetes answers
    before and such a file needs a second apply there.
    """
    deadline = asyncio.get_running_loop().time() + SERVE_WAIT_SECONDS
    while not registry.custom(crd_name):
        if asyncio.get_running_loop().time() >= deadline:
            return
        await asyncio.sleep(0.01)
