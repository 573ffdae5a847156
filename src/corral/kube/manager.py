"""`ControllerManager`: the built-in controllers, run only by the elected leader.

Several ``corral server`` replicas may share one datastore; Kubernetes'
controllers must act once, not once per replica. The manager contends for
the Lease ``kube-system/corral-controller-manager``; while it holds the lease
it builds a fresh `KubeContext` (new shared informers, new controllers),
starts the informers, waits until each has listed, and runs every enabled
controller. When it loses the lease (or the server stops) everything it
started is stopped before anything else may contend again.

Which controllers run is a list in Kubernetes' ``--controllers`` syntax:
``*`` (all), names to enable, ``-name`` to disable (``*,-garbagecollector``),
``-*`` (or an empty list) for none.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass

from corral.client import Client
from corral.controller import LeaderElector, SharedInformers
from corral.kube import (
    clusterroleaggregation,
    cronjob,
    daemonset,
    deployment,
    disruption,
    endpoints,
    garbagecollector,
    job,
    namespace,
    nodelifecycle,
    replicaset,
    resourcequota,
    scheduler,
    serviceaccounts,
    statefulset,
    tokens,
)
from corral.kube.context import KubeContext, KubeOptions, Runnable

log = logging.getLogger(__name__)

Builder = Callable[[KubeContext], list[Runnable]]

#: Every built-in controller, by the name ``--controllers`` uses.
CONTROLLERS: dict[str, Builder] = {
    "namespace": namespace.build,
    "garbagecollector": garbagecollector.build,
    "serviceaccount": serviceaccounts.build,
    "serviceaccount-token": tokens.build,
    "deployment": deployment.build,
    "replicaset": replicaset.build,
    "statefulset": statefulset.build,
    "daemonset": daemonset.build,
    "job": job.build,
    "cronjob": cronjob.build,
    "endpoints": endpoints.build,
    "endpointslice": endpoints.build_endpointslice,
    "resourcequota": resourcequota.build,
    "disruption": disruption.build,
    "scheduler": scheduler.build,
    "nodelifecycle": nodelifecycle.build,
    "clusterrole-aggregation": clusterroleaggregation.build,
}

LEASE_NAMESPACE = "kube-system"
LEASE_NAME = "corral-controller-manager"


@dataclass(frozen=True, slots=True)
class LeaseTimings:
    """Leader election timings (Kubernetes' defaults: 15 s / 10 s / 2 s)."""

    duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0


def enabled_controllers(spec: str) -> list[str]:
    """The controller names a ``--controllers`` value enables; ValueError names a bad one."""
    items = [item.strip() for item in spec.split(",") if item.strip()]
    chosen: set[str] = set()
    for item in items:
        name = item.removeprefix("-")
        if name != "*" and name not in CONTROLLERS:
            known = ", ".join(sorted(CONTROLLERS))
            raise ValueError(f"unknown controller {name!r} (known: {known})")
        if item == "*":
            chosen |= set(CONTROLLERS)
    for item in items:
        if item == "-*":
            chosen.clear()
        elif item.startswith("-"):
            chosen.discard(item[1:])
        elif item != "*":
            chosen.add(item)
    return [name for name in CONTROLLERS if name in chosen]


class ControllerManager:
    """Runs the enabled controllers while this process holds the controller-manager lease."""

    def __init__(
        self,
        client: Client,
        *,
        options: KubeOptions | None = None,
        controllers: Sequence[str] = tuple(CONTROLLERS),
        lease: LeaseTimings | None = None,
        identity: str = "",
    ) -> None:
        timings = lease or LeaseTimings()
        self.client = client
        self.options = options or KubeOptions()
        self.controllers = list(controllers)
        self.identity = identity or f"{socket.gethostname()}_{uuid.uuid4()}"
        self.elector = LeaderElector(
            client,
            LEASE_NAMESPACE,
            LEASE_NAME,
            self.identity,
            lease_duration=timings.duration,
            renew_deadline=timings.renew_deadline,
            retry_period=timings.retry_period,
        )
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.elector.run(self._lead), name="controller-manager")

    async def stop(self) -> None:
        await self.elector.stop()
        if self._task is not None:
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _lead(self) -> None:
        ctx = KubeContext(self.client, SharedInformers(self.client), self.options)
        parts: list[Runnable] = []
        for name in self.controllers:
            parts += CONTROLLERS[name](ctx)
        log.info("starting controllers", extra={"controllers": ",".join(self.controllers)})
        ctx.informers.start()
        try:
            await ctx.informers.wait_for_sync()
            async with asyncio.TaskGroup() as group:
                for part in parts:
                    group.create_task(part.run())
        finally:
            await asyncio.shield(_stop_all(parts, ctx.informers))


async def _stop_all(parts: Sequence[Runnable], informers: SharedInformers) -> None:
    for part in parts:
        try:
            await part.stop()
        except Exception:
            log.exception("stopping %r failed", part)
    await informers.stop()
