"""`SimulatedNodes`: N nodes that register, keep their heartbeat and "run" pods.

``corral server --simulate-nodes N`` builds one of these with
``client_for(user, groups)`` (an in-process client acting as that user) and
calls `start` and `stop`. Node ``i`` is ``corral-sim-<i>`` (stable, so a
restarted server finds its nodes and pods again) and acts as
``system:node:corral-sim-<i>`` in group ``system:nodes``:

- `corral.node.heartbeat`: registration, Lease, status reports (one task per
  node, staggered);
- `corral.node.podsync`: one shared pod watch for all nodes, one queue, a
  few workers writing pod statuses;
- `corral.node.connector`: what the API server calls for logs and exec
  (`connector`; the CLI hands it to the API at start-up).

`stop` is prompt (tasks are cancelled, open log streams end) and deletes
nothing. The kubelet version reported is the API server's ``gitVersion``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from corral.client import Client
from corral.controller import Informer
from corral.node.addresses import PodIPs
from corral.node.connector import SimulatedConnector
from corral.node.heartbeat import NodeAgent
from corral.node.nodeobject import NodeIdentity, needs_report
from corral.node.options import SimulatedNodeOptions, options_from_env
from corral.node.podsync import NodeHandle, PodSync
from corral.node.refs import NODES, NODES_GROUP, heartbeat_stopped, node_user

log = logging.getLogger("corral.node")

ClientFor = Callable[..., Client]


class SimulatedNodes:
    """``count`` simulated nodes; ``client_for(user, groups)`` gives a client acting as ``user``."""

    def __init__(
        self,
        client_for: ClientFor,
        count: int,
        options: SimulatedNodeOptions | None = None,
    ) -> None:
        self.client_for = client_for
        self.count = count
        self.options = options or options_from_env()
        self.stopped = asyncio.Event()
        self.agents: list[NodeAgent] = []
        handles: dict[str, NodeHandle] = {}
        for i in range(count):
            ident = NodeIdentity(i)
            client = client_for(node_user(ident.name), (NODES_GROUP,))
            self.agents.append(NodeAgent(ident, client, self.options, stagger=i / max(count, 1)))
            handles[ident.name] = NodeHandle(ident, client, PodIPs(ident.pod_cidr))
        self._by_name = {a.name: a for a in self.agents}
        watcher = self.agents[0].client if self.agents else client_for("system:node:none")
        self.sync = PodSync(handles, watcher, self.options)
        self.connector = SimulatedConnector(self.sync, self.stopped)
        # Nodes are few: one watch of them tells when someone else changed what
        # a node reports (the lifecycle controller marking it Unknown).
        self.node_informer = Informer(watcher, NODES)
        self.node_informer.on_update(lambda _old, new: self._node_changed(new))
        self.node_informer.on_delete(self._node_deleted)
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.agents]

    async def start(self) -> None:
        if not self.agents:
            return
        self.stopped.clear()
        version = await self._kubelet_version()
        for agent in self.agents:
            agent.kubelet_version = version
            self._tasks.append(asyncio.create_task(agent.run(), name=f"node {agent.name}"))
        self.sync.start()
        self._tasks.append(asyncio.create_task(self.node_informer.run(), name="simulated nodes"))
        log.info("simulated nodes started", extra={"count": self.count})

    def _node_changed(self, node: dict[str, Any]) -> None:
        agent = self._by_name.get(str((node.get("metadata") or {}).get("name", "")))
        if agent is None or not agent.registered.is_set():
            return
        if needs_report(agent.ident, node) or heartbeat_stopped(node) != agent.stopped:
            agent.report_soon()

    def _node_deleted(self, node: dict[str, Any]) -> None:
        agent = self._by_name.get(str((node.get("metadata") or {}).get("name", "")))
        if agent is not None and agent.registered.is_set():
            agent.report_soon()  # the report finds it gone and registers it again

    async def _kubelet_version(self) -> str:
        try:
            doc = await self.agents[0].client.get_path("/version")
        except Exception as exc:
            log.warning("simulated nodes: cannot read /version (%s)", exc)
            return self.agents[0].kubelet_version
        return str(doc.get("gitVersion") or self.agents[0].kubelet_version)

    async def wait_registered(self) -> None:
        """Return once every node has registered (for tests)."""
        await asyncio.gather(*(a.registered.wait() for a in self.agents))

    async def stop(self) -> None:
        self.stopped.set()
        await self.sync.stop()
        await self.node_informer.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
