"""`Informer`: list then watch one resource, keep an indexed cache, call handlers.

A controller must see every change to the objects it owns, survive stream
ends and server restarts, and never act on a stale picture for long. The
informer does client-go's reflector job: list every page, then watch from
the list's resourceVersion (the client's `Watch` resumes across stream ends
by itself). When the server can no longer resume (410 `Expired`) the informer
lists again and emits the *differences* against its cache — adds, updates,
and deletes of objects that vanished meanwhile — so handlers miss nothing.

Handlers are synchronous callbacks (many per informer), called in
registration order: ``on_add(obj)``, ``on_update(old, new)``,
``on_delete(obj)``. A handler that raises is logged and does not stop the
others. An optional ``resync`` period re-delivers every cached object as an
update, so level-triggered controllers converge even if they dropped a key.

`run` is the informer's task (``asyncio.create_task(informer.run())``);
`stop` ends it. Calling `run` again later resumes watching from the last
resourceVersion seen, re-listing only if that is too old.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress

from corral.client import Client, ResourceRef
from corral.controller.indexer import Indexer, IndexFunc, Obj, object_key
from corral.machinery.status import Expired

log = logging.getLogger(__name__)

AddHandler = Callable[[Obj], None]
UpdateHandler = Callable[[Obj, Obj], None]
DeleteHandler = Callable[[Obj], None]

_RETRY_MIN, _RETRY_MAX = 0.2, 30.0


class Informer:
    """A shared informer of one resource (optionally one namespace, filtered by selectors)."""

    def __init__(
        self,
        client: Client,
        resource: ResourceRef,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resync: float = 0,
    ) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace if namespace is not None else ""
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.resync = resync
        self.indexer = Indexer()
        self.resource_version = ""
        """The resourceVersion the cache reflects (the last list or event)."""
        self.lists = 0
        """How many full lists were made (1 + re-lists)."""
        self._adds: list[AddHandler] = []
        self._updates: list[UpdateHandler] = []
        self._deletes: list[DeleteHandler] = []
        self._synced = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    # -- registration ------------------------------------------------------

    def on_add(self, fn: AddHandler) -> None:
        self._adds.append(fn)

    def on_update(self, fn: UpdateHandler) -> None:
        self._updates.append(fn)

    def on_delete(self, fn: DeleteHandler) -> None:
        self._deletes.append(fn)

    def add_indexer(self, name: str, fn: IndexFunc) -> None:
        self.indexer.add_indexer(name, fn)

    def by_index(self, name: str, value: str) -> list[Obj]:
        return self.indexer.by_index(name, value)

    def get(self, key: str) -> Obj | None:
        return self.indexer.get(key)

    # -- sync state --------------------------------------------------------

    @property
    def has_synced(self) -> bool:
        """Whether the first full list is in the cache (and its handlers called)."""
        return self._synced.is_set()

    async def wait_for_sync(self) -> None:
        await self._synced.wait()

    # -- running -----------------------------------------------------------

    async def run(self) -> None:
        """List, watch, re-list on `Expired`, retry failures with back-off; until `stop`."""
        self._task = asyncio.current_task()
        resync = asyncio.create_task(self._resync_loop()) if self.resync > 0 else None
        delay = _RETRY_MIN
        try:
            while not self._stopping:
                try:
                    if not self.resource_version:
                        await self.relist()
                    await self._watch()
                    delay = _RETRY_MIN
                except Expired:
                    log.info("informer %s: watch expired, re-listing", self.resource)
                    self.resource_version = ""
                except Exception:
                    log.exception("informer %s: list/watch failed, retrying", self.resource)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _RETRY_MAX)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not self._stopping or task is None:
                raise
            task.uncancel()  # our own stop(): end normally
        finally:
            if resync is not None:
                resync.cancel()
                with suppress(asyncio.CancelledError):
                    await resync
            self._task = None
            self._stopping = False  # a later run() resumes

    async def stop(self) -> None:
        """End `run` (the cache and handlers stay; a later `run` resumes)."""
        self._stopping = True
        task = self._task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def relist(self) -> None:
        """List everything and bring the cache to it, emitting the differences."""
        items: dict[str, Obj] = {}
        version = ""
        async for page in self.client.list_pages(
            self.resource,
            namespace=self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
        ):
            for item in page.get("items") or []:
                self._fill_type(item)
                items[object_key(item)] = item
            version = (page.get("metadata") or {}).get("resourceVersion") or version
        self.lists += 1
        for key in self.indexer.list_keys():
            if key not in items:
                self._delete(key)
        for item in items.values():
            self._upsert(item)
        self.resource_version = version
        self._synced.set()

    async def _watch(self) -> None:
        async with self.client.watch(
            self.resource,
            namespace=self.namespace,
            resource_version=self.resource_version,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            bookmarks=True,
        ) as events:
            async for type_, obj in events:
                if type_ == "BOOKMARK":
                    pass
                elif type_ == "DELETED":
                    self._fill_type(obj)
                    self._delete(object_key(obj), obj)
                else:
                    self._fill_type(obj)
                    self._upsert(obj)
                version = (obj.get("metadata") or {}).get("resourceVersion")
                if version:
                    self.resource_version = version

    async def _resync_loop(self) -> None:
        await self._synced.wait()
        while True:
            await asyncio.sleep(self.resync)
            for obj in self.indexer.list():
                self._emit_update(obj, obj)

    # -- cache + handlers --------------------------------------------------

    def _fill_type(self, obj: Obj) -> None:
        # Lists carry apiVersion/kind on the list, not on each item.
        if self.resource.kind:
            obj.setdefault("apiVersion", self.resource.api_version)
            obj.setdefault("kind", self.resource.kind)

    def _upsert(self, obj: Obj) -> None:
        old = self.indexer.put(obj)
        if old is None:
            for add in list(self._adds):
                _call(add, obj)
        elif _version(old) != _version(obj):
            self._emit_update(old, obj)

    def _delete(self, key: str, last: Obj | None = None) -> None:
        old = self.indexer.delete(key)
        final = last if last is not None else old
        if final is None:
            return
        for delete in list(self._deletes):
            _call(delete, final)

    def _emit_update(self, old: Obj, new: Obj) -> None:
        for update in list(self._updates):
            _call(update, old, new)


def _version(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def _call(fn: Callable[..., None], *args: Obj) -> None:
    try:
        fn(*args)
    except Exception:
        log.exception("informer handler %r failed", fn)
