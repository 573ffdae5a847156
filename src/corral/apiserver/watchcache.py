"""The watch cache: one per storage prefix, the current objects and recent events.

Every WATCH, and every GET/LIST at ``resourceVersion=0``, is served from
memory here instead of from the datastore (DESIGN §3). A cache lists its
prefix once at start-up, then follows the backend's watch from that
revision. It keeps:

- the current objects, as stored bytes (the served JSON, with the
  resourceVersion spliced in, and the parsed dict are made lazily, once);
- a bounded ring of the most recent events. A watch may start from any
  revision at or after the ring's start (``ring_start``: the revision just
  before its oldest event); an older one is answered with 410 Expired, as
  Kubernetes does, and the client re-lists.

Consistent reads (no resourceVersion) are served here too once the cache
proves it is current: `WatchCache.progress` is the revision up to which it
has applied every write (the storage watch's progress, see
`corral.storage.EventStream.progress`), and `wait_until` waits briefly for
it to reach the datastore's current revision — Kubernetes' "consistent reads
from cache".

Each watcher gets a bounded queue; one that does not keep up is closed (the
client re-watches), so a slow client never holds memory. If the backend cuts
the cache's own feed off, the cache re-lists and closes its watchers.
`WatchCaches` holds them all; served CRDs add and remove theirs at run time.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from corral.apiserver.store.encoding import decode, with_resource_version
from corral.machinery.status import Expired
from corral.storage import (
    Backend,
    BackendClosedError,
    Event,
    EventStream,
    EventType,
    ResyncRequiredError,
)

log = logging.getLogger("corral.apiserver.watchcache")

DEFAULT_RING_SIZE = 1024
WATCHER_QUEUE_SIZE = 1000

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"


class CachedObject:
    """One object at one revision; JSON and dict made on first use."""

    __slots__ = ("_body", "_obj", "key", "revision", "value")

    def __init__(self, key: str, value: bytes, revision: int) -> None:
        self.key = key
        self.value = value
        self.revision = revision
        self._body: bytes | None = None
        self._obj: dict[str, Any] | None = None

    @property
    def body(self) -> bytes:
        """The served JSON (with ``metadata.resourceVersion``)."""
        if self._body is None:
            self._body = with_resource_version(self.value, self.revision)
        return self._body

    @property
    def obj(self) -> dict[str, Any]:
        """The parsed object: shared, never modify it."""
        if self._obj is None:
            self._obj = decode(self.value, self.revision)
        return self._obj


@dataclass(frozen=True, slots=True)
class CacheEvent:
    """A change as watchers see it; ``prev`` is the state before a MODIFIED."""

    type: str
    object: CachedObject
    prev: CachedObject | None = None

    @property
    def revision(self) -> int:
        return self.object.revision


class Watcher:
    """One watch's subscription: a bounded queue; ``None`` in it means closed."""

    def __init__(self, cache: WatchCache, prefix: str, after: int = 0) -> None:
        self.prefix = prefix
        #: Events at or before this revision were already seen by the client.
        self.after = after
        self.queue: asyncio.Queue[CacheEvent | None] = asyncio.Queue(WATCHER_QUEUE_SIZE + 1)
        self.closed = False
        self._cache = cache

    def offer(self, event: CacheEvent) -> None:
        if self.closed or event.revision <= self.after:
            return
        if self.queue.qsize() >= WATCHER_QUEUE_SIZE:
            self.close()
            return
        self.queue.put_nowait(event)

    def close(self) -> None:
        """End the watch: the reader sees ``None`` after what is queued."""
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)
            self._cache.unregister(self)

    @property
    def idle(self) -> bool:
        return self.queue.empty()


class WatchCache:
    """Current objects and recent events under one storage prefix."""

    def __init__(self, backend: Backend, prefix: str, ring_size: int = DEFAULT_RING_SIZE) -> None:
        self.prefix = prefix
        self._backend = backend
        self._objects: dict[str, CachedObject] = {}
        self._ring: collections.deque[CacheEvent] = collections.deque()
        self._ring_size = max(1, ring_size)
        self._watchers: set[Watcher] = set()
        self._task: asyncio.Task[None] | None = None
        self.revision = 0
        self.ring_start = 0
        self.synced = asyncio.Event()
        self._stream: EventStream | None = None
        self._advanced: asyncio.Event = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"watch-cache {self.prefix}")

    async def stop(self) -> None:
        """Stop following storage and end every watch."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for watcher in list(self._watchers):
            watcher.close()

    async def _list(self) -> int:
        page = await self._backend.list(self.prefix)
        self._objects = {
            kv.key: CachedObject(kv.key, kv.value, kv.mod_revision) for kv in page.items
        }
        self._ring.clear()
        self.revision = self.ring_start = page.revision
        return page.revision

    async def _run(self) -> None:
        while True:
            try:
                revision = await self._list()
                self.synced.set()
                self._stream = self._backend.watch(self.prefix, revision=revision)
                async for event in self._stream:
                    self._apply(event)
                return
            except BackendClosedError:
                return
            except ResyncRequiredError as exc:
                self._stream = None
                log.warning(
                    "watch cache re-listing", extra={"prefix": self.prefix, "error": str(exc)}
                )
                for watcher in list(self._watchers):
                    watcher.close()

    def _apply(self, event: Event) -> None:
        kv = event.kv
        obj = CachedObject(kv.key, kv.value, kv.mod_revision)
        prev = self._objects.get(kv.key)
        if event.type is EventType.DELETE:
            self._objects.pop(kv.key, None)
            change = CacheEvent(DELETED, obj, prev)
        else:
            self._objects[kv.key] = obj
            kind = ADDED if event.type is EventType.CREATE or prev is None else MODIFIED
            change = CacheEvent(kind, obj, prev)
        if len(self._ring) >= self._ring_size:
            self.ring_start = self._ring.popleft().revision
        self._ring.append(change)
        self.revision = kv.mod_revision
        for watcher in list(self._watchers):
            if kv.key.startswith(watcher.prefix):
                watcher.offer(change)
        self._advanced.set()

    def progress(self) -> int:
        """The revision up to which this cache has applied every write (>= `revision`)."""
        stream = self._stream
        seen = stream.progress() if stream is not None else None
        return seen if seen is not None and seen > self.revision else self.revision

    async def wait_until(self, revision: int, within: float) -> bool:
        """Wait (at most ``within`` s) until `progress` reaches ``revision``; True if it did."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while self.progress() < revision:
            left = deadline - loop.time()
            if left <= 0 or not self.synced.is_set():
                return False
            self._advanced.clear()
            # Applied events wake us; the short poll covers a watch that turns
            # live without applying anything (no event after its list).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._advanced.wait(), min(left, 0.01))
        return True

    def unregister(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    def snapshot(self, prefix: str) -> tuple[list[CachedObject], int]:
        """The current objects under ``prefix`` in key order, and the cache revision."""
        items = [o for k, o in self._objects.items() if k.startswith(prefix)]
        items.sort(key=lambda o: o.key)
        return items, self.progress()

    def get(self, key: str) -> CachedObject | None:
        return self._objects.get(key)

    def watch(self, prefix: str, revision: int | None) -> tuple[Watcher, list[CacheEvent], int]:
        """Subscribe to changes under ``prefix``.

        ``revision`` None: the initial events are ADDED for every current
        object. Otherwise they are the ring's events after ``revision``; 410
        Expired if the ring no longer reaches back that far. Also returns the
        revision the initial events bring the watcher to.
        """
        if revision is None:
            items, at = self.snapshot(prefix)
            initial = [CacheEvent(ADDED, o) for o in items]
        else:
            if revision < self.ring_start:
                raise Expired.too_old_resource_version(revision, self.ring_start + 1)
            initial = [
                e for e in self._ring if e.revision > revision and e.object.key.startswith(prefix)
            ]
            at = max(revision, self.revision)
        # A revision the cache has not reached yet (read from storage by the
        # client) must not replay the events up to it when they arrive.
        watcher = Watcher(self, prefix, at)
        self._watchers.add(watcher)
        return watcher, initial, at


class WatchCaches:
    """Every cache of the server, by storage prefix, with start/stop and readiness."""

    def __init__(
        self, backend: Backend, prefixes: list[str], ring_size: int = DEFAULT_RING_SIZE
    ) -> None:
        self._backend = backend
        self._ring_size = ring_size
        self._caches = {p: WatchCache(backend, p, ring_size) for p in prefixes}

    def __getitem__(self, prefix: str) -> WatchCache:
        return self._caches[prefix]

    def __contains__(self, prefix: object) -> bool:
        return prefix in self._caches

    def start(self) -> None:
        for cache in self._caches.values():
            cache.start()

    def add(self, prefix: str) -> WatchCache:
        """Start a cache for ``prefix`` (a served CRD) unless there is one."""
        cache = self._caches.get(prefix)
        if cache is None:
            cache = self._caches[prefix] = WatchCache(self._backend, prefix, self._ring_size)
            cache.start()
        return cache

    async def remove(self, prefix: str) -> None:
        """Stop and forget the cache of ``prefix`` (its watches end)."""
        cache = self._caches.pop(prefix, None)
        if cache is not None:
            await cache.stop()

    async def stop(self) -> None:
        await asyncio.gather(*(c.stop() for c in list(self._caches.values())))

    def unsynced(self) -> list[str]:
        return [p for p, c in self._caches.items() if not c.synced.is_set()]

    async def check(self) -> None:
        """Readiness: every cache has its initial list."""
        missing = self.unsynced()
        if missing:
            raise RuntimeError(f"{len(missing)} watch caches not synced yet")
