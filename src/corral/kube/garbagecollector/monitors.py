"""Which resources the garbage collector watches, found by discovery and kept current.

Any object can own any other (a ConfigMap can own Secrets, a custom resource
can own Deployments), so the collector watches every resource that can be
listed, watched and deleted — Kubernetes' "deletable resources", minus
events — custom resources included. A *monitor* is the shared informer of
one such resource plus a `Controller` running the collector's handler for
its keys.

Discovery runs at start, every `RESYNC_PERIOD` seconds, and soon after any
CustomResourceDefinition changes (a new CRD's resource is watched within a
second or so of being served). A resource that stops being served has its
informer stopped (its cache and controller stay, idle, and resume if it is
served again); a group whose discovery document fails keeps its monitors.

`kinds` maps (group, kind) to the preferred resource of every served kind,
for resolving owner references, whose ``apiVersion`` may name any version.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from corral.client import ResourceRef
from corral.controller import Controller, Informer
from corral.kube.apiresources import Discovered, discover, parse_group_version
from corral.kube.context import KubeContext
from corral.kube.enqueue import new_controller

log = logging.getLogger(__name__)

RESYNC_PERIOD = 30.0
"""Seconds between discoveries when nothing asks for one sooner (Kubernetes' default)."""
MIN_INTERVAL = 1.0
"""At most one discovery per this many seconds, however many CRD events arrive."""
IGNORED = frozenset({("", "events"), ("events.k8s.io", "events")})
CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")


@dataclass(slots=True)
class Monitor:
    """One watched resource: its informer and the controller running the collector on it."""

    ref: ResourceRef
    informer: Informer
    controller: Controller
    serving: bool = True
    """False once the resource is no longer served (informer stopped)."""


Setup = Callable[[Monitor], None]


class Monitors:
    """The set of watched resources, adjusted to what the server serves."""

    def __init__(self, ctx: KubeContext, setup: Setup) -> None:
        self.ctx = ctx
        self._setup = setup
        self.by_ref: dict[ResourceRef, Monitor] = {}
        self.kinds: dict[tuple[str, str], ResourceRef] = {}
        self._wake = asyncio.Event()
        self._started = False
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lookups -------------------------------------------------------------

    def resolve(self, group: str, kind: str) -> ResourceRef | None:
        return self.kinds.get((group, kind))

    def get(self, ref: ResourceRef) -> Monitor | None:
        return self.by_ref.get(ref)

    def all_synced(self) -> bool:
        return all(m.informer.has_synced for m in self.by_ref.values() if m.serving)

    def request_discovery(self) -> None:
        """Discover again soon (a CRD changed, or an owner's kind was unknown)."""
        self._wake.set()

    # -- adjusting to discovery ---------------------------------------------

    async def discover(self) -> None:
        """Read discovery and add or stop monitors to match it."""
        found = await discover(self.ctx.client)
        self._apply(found)

    def _apply(self, found: Discovered) -> None:
        failed_groups = set()
        for gv in found.failed:
            parsed = parse_group_version(gv)
            if parsed is not None:
                failed_groups.add(parsed[0])
        kinds = {k: ref for k, ref in self.kinds.items() if k[0] in failed_groups}
        wanted: set[ResourceRef] = set()
        for resource in found.resources:
            ref = resource.ref
            if ref.kind:
                kinds.setdefault((ref.group, ref.kind), ref)
            if (ref.group, ref.resource) in IGNORED:
                continue
            if resource.supports("list", "watch", "delete"):
                wanted.add(ref)
        self.kinds = kinds
        for ref in sorted(wanted, key=str):
            self._add(ref)
        for ref, monitor in self.by_ref.items():
            if ref not in wanted and ref.group not in failed_groups and monitor.serving:
                monitor.serving = False
                log.info("garbage collector: %s is no longer served, not watching it", ref)
                self._spawn(monitor.informer.stop())

    def _add(self, ref: ResourceRef) -> None:
        monitor = self.by_ref.get(ref)
        if monitor is not None:
            if not monitor.serving:  # served again: resume its informer
                monitor.serving = True
                self._spawn(monitor.informer.run())
            return
        informer = self.ctx.informers.informer(ref)  # shared; started at once if running
        controller = new_controller(self.ctx, f"garbagecollector-{ref}", informer)
        monitor = Monitor(ref, informer, controller)
        self.by_ref[ref] = monitor
        self._setup(monitor)
        if (ref.group, ref.resource) == CRDS:
            informer.on_add(lambda _obj: self.request_discovery())
            informer.on_update(lambda _old, _new: self.request_discovery())
            informer.on_delete(lambda _obj: self.request_discovery())
        if self._started:
            self._spawn(controller.run())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- running -------------------------------------------------------------

    def start_controllers(self) -> None:
        self._started = True
        for monitor in self.by_ref.values():
            self._spawn(monitor.controller.run())

    async def wait_synced(self, seconds: float) -> bool:
        """Wait (bounded) until every serving monitor's informer has listed."""
        waits = [m.informer.wait_for_sync() for m in self.by_ref.values() if m.serving]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), seconds)
        except TimeoutError:
            return False
        return True

    async def resync_loop(self) -> None:
        """Discover every `RESYNC_PERIOD` seconds, or soon after `request_discovery`."""
        clock = self.ctx.clock
        last = clock.now()
        while True:
            await self._sleep(RESYNC_PERIOD)
            # Space discoveries out, however many CRD events arrive.
            wait = last + MIN_INTERVAL - clock.now()
            if wait > 0:
                await self._sleep(wait, wakeable=False)
            self._wake.clear()
            last = clock.now()
            try:
                await self.discover()
            except Exception:
                log.exception("garbage collector: discovery failed; keeping the current monitors")

    async def _sleep(self, seconds: float, *, wakeable: bool = True) -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def fire() -> None:
            if not done.done():
                done.set_result(None)

        timer = self.ctx.clock.call_at(self.ctx.clock.now() + seconds, fire)
        waiters: set[asyncio.Future[Any]] = {done}
        woken: asyncio.Task[Any] | None = None
        if wakeable:
            woken = asyncio.ensure_future(self._wake.wait())
            waiters.add(woken)
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if woken is not None:
                woken.cancel()
                with suppress(asyncio.CancelledError):
                    await woken

    async def stop(self) -> None:
        """Stop every controller (bounded drain) and the tasks started here."""
        self._started = False
        await asyncio.gather(
            *(m.controller.stop() for m in self.by_ref.values()), return_exceptions=True
        )
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with suppress(asyncio.CancelledError, Exception):
                await task
