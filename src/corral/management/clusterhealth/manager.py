"""`ClusterHealth`: a `ClusterWatch` for every connected cluster, and none for the others.

It watches Clusters on the management server (and Users and RBAC, which
decide who is cluster-admin downstream) and, per Cluster:

- ``Connected`` True (and not ``local``, not being deleted): a supervisor
  task runs the cluster's `ClusterWatch` over a client built from the
  `AccessSource`; when the watch fails (the access cannot be had, the
  client cannot be built) the Cluster's ``Ready`` turns False
  ``APIUnavailable`` with the error and the watch restarts after a
  jittered, doubling back-off (``restart_min`` .. ``restart_max``). A new
  connection of the agent (``status.agent.lastConnected`` or
  ``apiEndpoint`` changed) restarts the watch at once with fresh access.
- ``Connected`` not True: any watch is stopped (its informers, tasks and
  client with it) and ``Ready`` turns False ``Disconnected``.
- Deleted: any watch is stopped; its namespace (and mirrored events) go
  with the Cluster.

Who is entitled in a cluster (`bindings.entitled`) is asked of the
management server's authorizer for every active User once per cluster and
change of Users, RBAC objects or the cluster's creator (not per pass), and
handed to the cluster's watch through `entitled`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from contextlib import suppress
from typing import Any

from corral.client import Client
from corral.client.dialing import AccessSource
from corral.controller import Controller, Informer, is_deleting
from corral.machinery.authz import Authorizer
from corral.machinery.status import NotFound
from corral.management.clusteraccess import creator_of
from corral.management.clusterhealth.bindings import active_users, entitled
from corral.management.clusterhealth.downstream import downstream_client
from corral.management.clusterhealth.kinds import (
    CLUSTER_ROLE_BINDINGS,
    CLUSTER_ROLES,
    CLUSTERS,
    LOCAL_CLUSTER,
    USERS,
)
from corral.management.clusterhealth.options import HealthOptions
from corral.management.clusterhealth.status import (
    is_connected,
    mark_disconnected,
    mark_unavailable,
)
from corral.management.clusterhealth.statuswriter import StatusWriter
from corral.management.clusterhealth.watch import ClusterWatch

log = logging.getLogger(__name__)

Obj = dict[str, Any]
#: How long closing a cluster's client may take before it is abandoned.
CLOSE_TIMEOUT = 5.0


def connection_of(cluster: Obj) -> tuple[str, ...]:
    """What identifies one connection of the cluster's agent (a change means: reconnect)."""
    meta = cluster.get("metadata") or {}
    status = cluster.get("status") or {}
    agent = status.get("agent") if isinstance(status.get("agent"), dict) else {}
    return (
        str(meta.get("uid") or ""),
        str(status.get("apiEndpoint") or ""),
        str((agent or {}).get("lastConnected") or ""),
    )


class _Supervised:
    """A running supervisor task, the connection it serves and its current watch."""

    def __init__(self, connection: tuple[str, ...], task: asyncio.Task[None]) -> None:
        self.connection = connection
        self.task = task
        self.watch: ClusterWatch | None = None


class ClusterHealth:
    """The per-cluster health controllers of one management server (run while leading)."""

    def __init__(
        self,
        client: Client,
        access: AccessSource,
        authorizer: Authorizer,
        options: HealthOptions | None = None,
    ) -> None:
        self.client = client
        self.access = access
        self.authorizer = authorizer
        self.options = options or HealthOptions()
        self.clusters = Informer(client, CLUSTERS)
        self.users = Informer(client, USERS)
        self.rbac = [Informer(client, CLUSTER_ROLES), Informer(client, CLUSTER_ROLE_BINDINGS)]
        self.writer = StatusWriter(client, lambda name: self.clusters.get(name))
        self.controller = Controller("cluster-health", self.clusters, workers=2)
        self.controller.on_change("supervise", self._reconcile)
        self._running: dict[str, _Supervised] = {}
        #: Per cluster: (its creator, who is entitled), until Users or RBAC change.
        self._entitled: dict[str, tuple[str, frozenset[str]]] = {}
        for informer in (self.users, *self.rbac):
            informer.on_add(lambda _obj: self._policy_changed())
            informer.on_update(lambda _old, _new: self._policy_changed())
            informer.on_delete(lambda _obj: self._policy_changed())

    # -- who is cluster-admin downstream -------------------------------------

    def _policy_changed(self) -> None:
        self._entitled.clear()
        for running in self._running.values():
            if running.watch is not None:
                running.watch.poke()

    def entitled(self, name: str) -> set[str]:
        """Who gets cluster-admin in cluster ``name`` now (cached, see the module docstring)."""
        cluster = self.clusters.get(name)
        if cluster is None:
            return set()
        creator = creator_of(cluster)
        cached = self._entitled.get(name)
        if cached is None or cached[0] != creator:
            users = active_users(self.users.indexer.list())
            cached = self._entitled[name] = (
                creator,
                frozenset(entitled(self.authorizer, cluster, users)),
            )
        return set(cached[1])

    # -- running -------------------------------------------------------------

    @property
    def watched(self) -> list[str]:
        """The clusters with a running watch (supervisor), sorted."""
        return sorted(self._running)

    def watch_of(self, name: str) -> ClusterWatch | None:
        """The running watch of cluster ``name`` (None between restarts or when not watched)."""
        running = self._running.get(name)
        return running.watch if running is not None else None

    async def wait_for_kinds(self) -> None:
        """Wait (quietly) until Clusters and Users are served: another component installs them."""
        delay = 0.1
        for ref in (CLUSTERS, USERS):
            while True:
                try:
                    await self.client.list(ref, limit=1)
                    break
                except NotFound:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)

    async def run(self) -> None:
        """Run until cancelled; everything started is stopped on the way out."""
        await self.wait_for_kinds()
        informers = [self.clusters, self.users, *self.rbac]
        tasks = [
            asyncio.create_task(i.run(), name=f"cluster-health {i.resource}") for i in informers
        ]
        try:
            for informer in informers:
                await informer.wait_for_sync()
            await self.controller.run()
        finally:
            self.controller.queue.shutdown()  # its workers ended with `run`: nothing to drain
            # Together: each stop may wait (bounded) for a cluster's connections to close.
            await asyncio.gather(*(self._stop(name) for name in list(self._running)))
            for informer in informers:
                await informer.stop()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with suppress(asyncio.CancelledError):
                    await task

    async def _reconcile(self, name: str, cluster: Obj | None) -> None:
        if cluster is None or name == LOCAL_CLUSTER or is_deleting(cluster):
            await self._stop(name)
            return
        if not is_connected(cluster):
            await self._stop(name)
            await self.writer.write(name, mark_disconnected)
            return
        connection = connection_of(cluster)
        running = self._running.get(name)
        if running is not None and running.connection != connection:
            await self._stop(name)
            running = None
        if running is None:
            task = asyncio.create_task(self._supervise(name), name=f"cluster {name}: supervisor")
            self._running[name] = _Supervised(connection, task)
        elif running.watch is not None:
            running.watch.poke()  # the creator may have changed

    async def _stop(self, name: str) -> None:
        self._entitled.pop(name, None)
        running = self._running.pop(name, None)
        if running is None:
            return
        running.task.cancel()
        with suppress(asyncio.CancelledError):
            await running.task
        log.info("cluster %s: health watch stopped", name)

    async def _supervise(self, name: str) -> None:
        loop = asyncio.get_running_loop()
        options = self.options
        delay = options.restart_min
        while True:
            started = loop.time()
            try:
                await self._watch_once(name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("cluster %s: health watch failed: %s", name, exc)
                await self._report_failure(name, str(exc) or type(exc).__name__)
            if loop.time() - started > options.restart_max:
                delay = options.restart_min
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311 (jitter)
            delay = min(delay * 2, options.restart_max)

    async def _report_failure(self, name: str, message: str) -> None:
        with suppress(Exception):
            await self.writer.write(name, lambda obj: mark_unavailable(obj, message))

    async def _watch_once(self, name: str) -> None:
        access = await self.access(name)
        downstream = downstream_client(access, timeout=self.options.probe_timeout)
        try:
            watch = ClusterWatch(
                name,
                downstream,
                management=self.client,
                writer=self.writer,
                cluster=lambda: self.clusters.get(name),
                entitled=lambda: self.entitled(name),
                options=self.options,
            )
            running = self._running.get(name)
            if running is not None:
                running.watch = watch
            log.info("cluster %s: health watch started", name)
            try:
                await watch.run()
            finally:
                if running is not None:
                    running.watch = None
        finally:
            # Bounded: closing TLS over a tunnel that is gone must not hold up a stop.
            with suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await downstream.close()
