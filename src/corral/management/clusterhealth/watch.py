"""`ClusterWatch`: one connected cluster's informers, probes and writes, as one task.

While a cluster is connected, its watch:

- once the API has answered ready, keeps informers on the downstream API:
  nodes, pods that are not terminated (field selector
  ``status.phase!=Succeeded,status.phase!=Failed``: finished pods, often
  the majority, are never cached), and Warning events;
- probes ``/readyz`` every ``probe_interval`` (while it fails, the interval
  doubles per failed probe up to ``failing_probe_interval``: a cluster whose
  API is down is reported at once, then re-checked less often) and
  ``/version`` at start and every ``version_interval``;
- at most once per ``write_interval`` (the rate limit) writes what changed
  in the Cluster's status (`StatusWriter`), flushes the mirrored events
  (`EventMirror`) and, while the API is ready, makes the downstream admin
  bindings match who is entitled (`sync_bindings`) when that set changed
  or at every ``binding_resync``.

A failure of one step (a probe, a management write, an event flush, a
binding sync), whatever its exception, is reported or logged and retried at
the next pass; it never stops the others or the watch. `run`
returns only by cancellation; the supervisor cancels it when the cluster
disconnects or goes away, and everything it started (informer tasks, the
downstream client) is stopped before `run` ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from corral.client import Client
from corral.controller import Informer
from corral.management.clusterhealth.bindings import sync_bindings
from corral.management.clusterhealth.eventmirror import EventMirror
from corral.management.clusterhealth.kinds import EVENTS, NODES, PODS
from corral.management.clusterhealth.options import HealthOptions
from corral.management.clusterhealth.status import Observation, observe, one_line
from corral.management.clusterhealth.statuswriter import StatusWriter
from corral.management.clusterhealth.totals import (
    node_totals,
    render,
    requested_totals,
)

log = logging.getLogger(__name__)

ACTIVE_PODS = "status.phase!=Succeeded,status.phase!=Failed"
WARNINGS = "type=Warning"

Obj = dict[str, Any]


def probe_delay(options: HealthOptions, failures: int) -> float:
    """``probe_interval``; doubled per consecutive failure up to ``failing_probe_interval``."""
    if failures <= 0:
        return options.probe_interval
    delay: float = options.probe_interval * 2.0 ** min(failures - 1, 16)
    return min(delay, max(options.failing_probe_interval, options.probe_interval))


class ClusterWatch:
    """The health controllers of one connected cluster (see the module docstring)."""

    def __init__(
        self,
        name: str,
        downstream: Client,
        *,
        management: Client,
        writer: StatusWriter,
        cluster: Callable[[], Obj | None],
        entitled: Callable[[], set[str]],
        options: HealthOptions,
    ) -> None:
        self.name = name
        self.downstream = downstream
        self.management = management
        self.writer = writer
        self.cluster = cluster
        self.entitled = entitled
        self.options = options
        self.observed = Observation()
        #: ``/readyz`` probes made (each one is a pass that may write).
        self.probes = 0
        self.nodes = Informer(downstream, NODES)
        self.pods = Informer(downstream, PODS, field_selector=ACTIVE_PODS)
        self.events = Informer(downstream, EVENTS, field_selector=WARNINGS)
        self._figures_dirty = True
        self._wake = asyncio.Event()
        self._applied: set[str] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._failures = 0  # consecutive failed probes
        self.mirror: EventMirror | None = None
        for informer in (self.nodes, self.pods):
            informer.on_add(lambda _obj: self._changed())
            informer.on_update(lambda _old, _new: self._changed())
            informer.on_delete(lambda _obj: self._changed())

    def poke(self) -> None:
        """Something the watch depends on changed (users, the Cluster): look again soon."""
        self._wake.set()

    def _changed(self) -> None:
        self._figures_dirty = True
        self._wake.set()

    async def run(self) -> None:
        cluster = self.cluster()
        if cluster is None:
            return
        mirror = self.mirror = EventMirror(self.management, cluster, limit=self.options.event_limit)
        self.events.on_add(lambda obj: self._offer(mirror, obj))
        self.events.on_update(lambda _old, new: self._offer(mirror, new))
        await self._step("reading back mirrored events", mirror.load())
        try:
            await self._loop(mirror)
        finally:
            await self._stop_informers()

    def _start_informers(self) -> None:
        """Start the informers (once the API has answered ready: an unreachable API gets
        only the probe, not three retrying list/watch loops)."""
        if self._tasks:
            return
        self._tasks = [
            asyncio.create_task(i.run(), name=f"cluster {self.name}: informer {i.resource}")
            for i in (self.nodes, self.pods, self.events)
        ]

    async def _stop_informers(self) -> None:
        for informer in (self.nodes, self.pods, self.events):
            await informer.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def _offer(self, mirror: EventMirror, event: Obj) -> None:
        mirror.offer(event)
        self._wake.set()

    async def _loop(self, mirror: EventMirror) -> None:
        loop = asyncio.get_running_loop()
        options = self.options
        next_probe = next_version = next_bindings = loop.time()
        while True:
            now = loop.time()
            if now >= next_probe:
                await self._probe()
                next_probe = now + self._probe_delay()
                if self.observed.api_ready:
                    self._start_informers()
            if now >= next_version:
                await self._version()
                next_version = now + options.version_interval
            self._figures()
            await self._step("status", self.writer.write(self.name, self._edit))
            await self._step("events", mirror.flush())
            if self.observed.api_ready and await self._bindings(now >= next_bindings):
                next_bindings = now + options.binding_resync
            self._wake.clear()
            await asyncio.sleep(options.write_interval)  # the rate limit of this cluster's writes
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, next_probe - loop.time()))

    async def _bindings(self, due: bool) -> bool:
        """Sync the admin bindings if who is entitled changed, or when ``due``; True if synced."""
        wanted = self.entitled()
        if wanted == self._applied and not due:
            return False
        if not await self._step("bindings", sync_bindings(self.downstream, wanted)):
            return False
        self._applied = wanted
        return True

    def _probe_delay(self) -> float:
        return probe_delay(self.options, self._failures)

    def _edit(self, obj: Obj) -> bool:
        return observe(obj, self.observed)

    async def _step(self, what: str, work: Any) -> bool:
        try:
            await work
        except Exception as exc:  # retried at the next pass; never ends the watch
            log.warning("cluster %s: %s failed: %s", self.name, what, exc)
            return False
        return True

    async def _probe(self) -> None:
        self.probes += 1
        try:
            async with asyncio.timeout(self.options.probe_timeout):
                answer = await self.downstream.transport.request(
                    "GET", "/readyz", (), {"Accept": "text/plain"}, None
                )
        except TimeoutError:
            self._unready(f"/readyz did not answer in {self.options.probe_timeout:g}s")
            return
        except Exception as exc:  # any failure to get an answer (a refused tunnel dial too)
            self._unready(str(exc) or type(exc).__name__)
            return
        body = answer.body.decode(errors="replace").strip()
        if answer.status == 200 and body == "ok":
            self.observed.api_ready, self.observed.api_message = True, ""
            self._failures = 0
        else:
            self._unready(f"/readyz answered {answer.status}: {body}")

    def _unready(self, message: str) -> None:
        self._failures += 1
        self.observed.api_ready = False
        self.observed.api_message = one_line(message)

    async def _version(self) -> None:
        try:
            async with asyncio.timeout(self.options.probe_timeout):
                found = await self.downstream.get_path("/version")
        except Exception as exc:  # reported by the probe; the version waits for the next try
            log.info("cluster %s: /version failed: %s", self.name, exc)
            return
        version: dict[str, str] = {
            k: str(found[k]) for k in ("gitVersion", "major", "minor") if k in found
        }
        self.observed.version = version or None

    def _figures(self) -> None:
        if not self._figures_dirty or not (self.nodes.has_synced and self.pods.has_synced):
            return
        self._figures_dirty = False
        nodes = self.nodes.indexer.list()
        self.observed.node_count = len(nodes)
        self.observed.capacity = render(node_totals(nodes, "capacity"))
        self.observed.allocatable = render(node_totals(nodes, "allocatable"))
        self.observed.requested = render(requested_totals(self.pods.indexer.list()))
