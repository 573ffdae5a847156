"""`EventRecorder`: core/v1 Events about objects, written off the hot path.

The scheduler and node lifecycle report what they did (``Scheduled``,
``FailedScheduling``, ``TaintManagerEviction``…) as Events, which is what
``kubectl describe`` shows. Writing an Event must never slow or fail the
decision it reports, so `record` is synchronous and only queues it; a few
workers write them. The queue is bounded: when it is full the event is
dropped and logged, as client-go's broadcaster drops them.

Like client-go's correlator, a repeat of the same event (same object, type,
reason and message) within the recorder's memory updates ``count`` and
``lastTimestamp`` of the Event already written instead of adding a new one,
so a pod that stays unschedulable has one ``FailedScheduling`` Event with a
growing count.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from corral.client import Client
from corral.kube.resources import EVENTS
from corral.machinery.status import NotFound

log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"

_REMEMBERED = 4096


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_reference(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The ``involvedObject`` of an Event about ``obj``."""
    meta = obj.get("metadata") or {}
    ref = {
        "apiVersion": obj.get("apiVersion") or "v1",
        "kind": obj.get("kind") or "",
        "name": meta.get("name") or "",
        "uid": meta.get("uid") or "",
        "resourceVersion": meta.get("resourceVersion") or "",
    }
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    return {k: v for k, v in ref.items() if v}


class EventRecorder:
    """Queues Events and writes them with a few workers; a `Runnable`."""

    def __init__(
        self,
        client: Client,
        component: str,
        *,
        instance: str = "",
        max_pending: int = 1000,
        workers: int = 2,
    ) -> None:
        self.client = client
        self.component = component
        self.instance = instance
        self.workers = workers
        self.dropped = 0
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(max_pending)
        self._written: OrderedDict[tuple[str, ...], tuple[str, str, int]] = OrderedDict()
        self._tasks: list[asyncio.Task[None]] = []

    def record(
        self,
        obj: Mapping[str, Any],
        type_: str,
        reason: str,
        message: str,
        *,
        action: str = "",
    ) -> None:
        """Queue an Event about ``obj`` (never blocks; dropped when the queue is full)."""
        ref = object_reference(obj)
        item = {"ref": ref, "type": type_, "reason": reason, "message": message, "action": action}
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("event dropped (queue full): %s %s %s", reason, ref.get("name"), message)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def run(self) -> None:
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self.workers)]
        try:
            await asyncio.gather(*self._tasks)
        finally:
            for task in self._tasks:
                task.cancel()

    async def stop(self, drain_timeout: float = 2.0) -> None:
        """Write what is queued (bounded), if the workers still run; then end them."""
        if any(not task.done() for task in self._tasks):
            with suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), drain_timeout)
        for task in self._tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _worker(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._write(item)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("writing event %s failed", item.get("reason"))
            finally:
                self._queue.task_done()

    async def _write(self, item: dict[str, Any]) -> None:
        ref: dict[str, Any] = item["ref"]
        namespace = ref.get("namespace") or "default"
        key = (
            ref.get("uid", ""),
            ref.get("name", ""),
            item["type"],
            item["reason"],
            item["message"],
        )
        seen = self._written.get(key)
        now = _now()
        if seen is not None:
            name, ns, count = seen
            try:
                await self.client.patch(
                    EVENTS, name, {"count": count + 1, "lastTimestamp": now}, namespace=ns
                )
            except NotFound:
                pass  # expired meanwhile: write a new one
            else:
                self._remember(key, (name, ns, count + 1))
                return
        name = f"{ref.get('name', 'object')}.{uuid.uuid4().hex[:16]}"
        event: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": ref,
            "reason": item["reason"],
            "message": item["message"],
            "type": item["type"],
            "source": {"component": self.component},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "eventTime": None,
            "reportingComponent": self.component,
            "reportingInstance": self.instance or self.component,
        }
        if item["action"]:
            event["action"] = item["action"]
        await self.client.create(EVENTS, event, namespace=namespace)
        self._remember(key, (name, namespace, 1))

    def _remember(self, key: tuple[str, ...], value: tuple[str, str, int]) -> None:
        self._written[key] = value
        self._written.move_to_end(key)
        while len(self._written) > _REMEMBERED:
            self._written.popitem(last=False)
