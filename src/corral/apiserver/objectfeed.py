"""Following some resources from the watch caches, for in-memory indexes.

The RBAC authorizer (``corral.auth.rbac``) needs every Role, ClusterRole and
binding in memory, kept current, without reading storage per request.
The watch caches already follow storage; `ObjectFeed` subscribes to them
(as a watch does, with no HTTP in between) and hands each change to a
`FeedTarget`: ``apply(resource, object)`` for an added or changed object,
``remove(resource, namespace, name)`` for a deleted one. When a
subscription ends (its queue overflowed, the cache re-listed) the feed
subscribes again, re-applies what exists and removes what disappeared in
between. `synced` is set once every resource's current objects were
applied, as of the datastore's revision when the feed started (a
consistent first read: the policy start-up has just written is in it):
the ``rbac-synced`` readiness check waits for it, so a server reports
ready only when it authorizes with the stored policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from corral.apiserver.handlers.context import ServerParts
from corral.apiserver.watchcache import DELETED, CacheEvent

log = logging.getLogger("corral.apiserver.objectfeed")

#: How long the first read waits for a cache to reach the datastore's revision.
CATCH_UP_SECONDS = 30.0


class FeedTarget(Protocol):
    """Where a feed's changes go."""

    def apply(self, resource: str, obj: Mapping[str, Any]) -> None: ...

    def remove(self, resource: str, namespace: str, name: str) -> None: ...


class ObjectFeed:
    """Hands every change of ``resources`` (of ``group``/``version``) to ``target``."""

    def __init__(
        self,
        parts: ServerParts,
        group: str,
        version: str,
        resources: tuple[str, ...],
        target: FeedTarget,
    ) -> None:
        self._parts = parts
        self._target = target
        self._types = []
        for resource in resources:
            rt = parts.registry.lookup(group, version, resource)
            if rt is None:
                raise ValueError(f"no such resource: {group}/{version} {resource}")
            self._types.append(rt)
        self._tasks: list[asyncio.Task[None]] = []
        self._pending = len(self._types)
        self.synced = asyncio.Event()

    def start(self) -> None:
        for rt in self._types:
            self._tasks.append(
                asyncio.create_task(
                    self._follow(rt.resource, rt.storage_prefix), name=f"feed {rt.resource}"
                )
            )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _follow(self, resource: str, prefix: str) -> None:
        cache = self._parts.caches[prefix]
        known: dict[str, tuple[str, str]] = {}
        first = True
        while True:
            await cache.synced.wait()
            if first:
                current = await self._parts.backend.current_revision()
                await cache.wait_until(current, CATCH_UP_SECONDS)
            watcher, initial, _ = cache.watch(prefix, None)
            seen: set[str] = set()
            for event in initial:
                seen.add(event.object.key)
                self._apply(resource, event, known)
            for key in set(known) - seen:
                namespace, name = known.pop(key)
                self._target.remove(resource, namespace, name)
            if first:
                first = False
                self._pending -= 1
                if self._pending == 0:
                    self.synced.set()
            while True:
                change = await watcher.queue.get()
                if change is None:
                    log.info("object feed re-subscribing", extra={"resource": resource})
                    break
                self._apply(resource, change, known)

    def _apply(self, resource: str, event: CacheEvent, known: dict[str, tuple[str, str]]) -> None:
        key = event.object.key
        if event.type == DELETED:
            where = known.pop(key, None)
            if where is not None:
                self._target.remove(resource, *where)
            return
        obj = event.object.obj
        meta = obj.get("metadata") or {}
        known[key] = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        try:
            self._target.apply(resource, obj)
        except Exception:
            log.exception("object feed target failed", extra={"resource": resource, "key": key})
