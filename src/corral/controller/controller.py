"""`Controller`: named handlers reconciling the keys an informer queues.

Rancher's wrangler and kopf showed that a controller is best written as a
few small, named handlers rather than one big reconcile: each does one thing,
shows up by name in logs and metrics, and can be reasoned about alone. Here:

- ``on_change(name, fn)``: ``await fn(key, obj)`` whenever the object
  changes; ``obj`` is None once it is gone. May return
  ``Result(requeue_after=s)`` to be called again in ``s`` seconds.
- ``on_remove(name, fn)``: ``await fn(key, obj)`` with the last known object
  once it is gone. With ``finalizer="example.io/cleanup"`` the handler is a
  finalizer lifecycle instead: the finalizer is added to every object, and
  when an object is marked deleted the handler runs, then the finalizer is
  removed, and only then the API server lets the object go.

Handlers of a key run in registration order, and a key is never processed
by two workers at once (the `WorkQueue` guarantees it). The first handler
that raises stops the pass: the key is retried with back-off
(``add_rate_limited``), logged with the handler's name and counted in
``corral_controller_reconcile_errors_total``. A pass where every handler
succeeded resets the back-off (``forget``), and honours the shortest
``requeue_after`` asked for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from corral.controller.errors import QueueFullError, QueueShutDown
from corral.controller.finalizers import add_finalizer, is_deleting, remove_finalizer
from corral.controller.indexer import Obj, object_key
from corral.controller.informer import Informer
from corral.controller.reconcilemetrics import RECONCILE_DURATION, RECONCILE_ERRORS
from corral.controller.workqueue import WorkQueue
from corral.machinery.status import Conflict

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Result:
    """What a handler may return: call it again after ``requeue_after`` seconds."""

    requeue_after: float | None = None


ChangeHandler = Callable[[str, Obj | None], Awaitable[Result | None]]
RemoveHandler = Callable[[str, Obj], Awaitable[Result | None]]


@dataclass(frozen=True, slots=True)
class _Handler:
    name: str
    fn: Callable[[str, Any], Awaitable[Result | None]]
    kind: str  # "change", "remove" or "finalize"
    finalizer: str = ""


class Controller:
    """Workers running named handlers for the keys one informer queues."""

    def __init__(
        self,
        name: str,
        informer: Informer,
        *,
        workers: int = 1,
        queue: WorkQueue[str] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("a controller needs at least one worker")
        self.name = name
        self.informer = informer
        self.workers = workers
        self.queue: WorkQueue[str] = queue if queue is not None else WorkQueue(name)
        self._handlers: list[_Handler] = []
        self._gone: dict[str, Obj] = {}  # last known state of deleted objects
        self._duration = RECONCILE_DURATION.labels(name)
        informer.on_add(self._enqueue)
        informer.on_update(lambda _old, new: self._enqueue(new))
        informer.on_delete(self._removed)

    # -- registration ------------------------------------------------------

    def on_change(self, name: str, fn: ChangeHandler) -> None:
        self._handlers.append(_Handler(name, fn, "change"))

    def on_remove(self, name: str, fn: RemoveHandler, *, finalizer: str | None = None) -> None:
        if finalizer:
            self._handlers.append(_Handler(name, fn, "finalize", finalizer))
        else:
            self._handlers.append(_Handler(name, fn, "remove"))

    # -- feeding the queue ---------------------------------------------------

    def _enqueue(self, obj: Obj) -> None:
        key = object_key(obj)
        self._gone.pop(key, None)
        self._add(key)

    def _removed(self, obj: Obj) -> None:
        key = object_key(obj)
        self._gone[key] = obj
        self._add(key)

    def _add(self, key: str) -> None:
        try:
            self.queue.add(key)
        except QueueFullError:
            log.warning("controller %s: queue full, %s waits for a resync", self.name, key)

    # -- running -----------------------------------------------------------

    async def run(self) -> None:
        """Wait for the informer's sync, then run the workers until `stop` (or cancel)."""
        await self.informer.wait_for_sync()
        async with asyncio.TaskGroup() as group:
            for _ in range(self.workers):
                group.create_task(self._worker())

    async def stop(self, drain_timeout: float = 5.0) -> None:
        """Stop taking keys; wait (bounded) for the keys in progress."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self.queue.shutdown_with_drain(), drain_timeout)

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except QueueShutDown:
                return
            try:
                await self.process(key)
            except Exception:  # a full queue refusing a retry: never kill the worker
                log.exception("controller %s: could not requeue %s", self.name, key)
            finally:
                self.queue.done(key)

    async def process(self, key: str) -> None:
        """Run every handler for `key`, then forget, requeue or back off."""
        started = time.monotonic()
        requeue: float | None = None
        try:
            obj = self.informer.get(key)
            for handler in self._plan(obj):
                try:
                    result = await self._call(handler, key, obj)
                except Conflict:
                    # A stale read lost a compare-and-swap: routine, so no
                    # traceback; retried (with backoff) from a newer copy.
                    RECONCILE_ERRORS.labels(self.name, handler.name).inc()
                    log.debug(
                        "controller %s: handler %s met a newer %s; retrying",
                        self.name,
                        handler.name,
                        key,
                    )
                    self.queue.add_rate_limited(key)
                    return
                except Exception:
                    RECONCILE_ERRORS.labels(self.name, handler.name).inc()
                    log.exception(
                        "controller %s: handler %s failed for %s", self.name, handler.name, key
                    )
                    self.queue.add_rate_limited(key)
                    return
                if result is not None and result.requeue_after is not None:
                    after = result.requeue_after
                    requeue = after if requeue is None else min(requeue, after)
            self.queue.forget(key)
            if obj is None:
                self._gone.pop(key, None)
            if requeue is not None:
                self.queue.add_after(key, requeue)
        finally:
            self._duration.observe(time.monotonic() - started)

    def _plan(self, obj: Obj | None) -> list[_Handler]:
        # Gone: change handlers (with None) and plain remove handlers. Present
        # (deleting or not): change handlers and finalizer lifecycles.
        wanted = ("change", "remove") if obj is None else ("change", "finalize")
        return [h for h in self._handlers if h.kind in wanted]

    async def _call(self, handler: _Handler, key: str, obj: Obj | None) -> Result | None:
        client, resource = self.informer.client, self.informer.resource
        if handler.kind == "change":
            return await handler.fn(key, obj)
        if handler.kind == "remove":
            last = self._gone.get(key)
            return await handler.fn(key, last) if last is not None else None
        # finalizer lifecycle
        assert obj is not None
        if not is_deleting(obj):
            await add_finalizer(client, resource, obj, handler.finalizer)
            return None
        if handler.finalizer not in ((obj.get("metadata") or {}).get("finalizers") or []):
            return None
        result = await handler.fn(key, obj)
        await remove_finalizer(client, resource, obj, handler.finalizer)
        return result
