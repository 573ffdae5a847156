"""What the API server asks of simulated nodes: container logs, exec, attach, port-forward.

The API server reaches a node for ``pods/log`` and friends through a small
protocol it defines (``corral.apiserver.podconnect.NodeConnector``); this
class satisfies it structurally (`corral.node` never imports the API
server). Answers come from the node's own runtime state, as a kubelet
answers from its runtime, with the kubelet's messages:

- logs of a container that has not started: 400 ``container "c" in pod "p"
  is waiting to start: ContainerCreating`` (``PodInitializing`` behind init
  containers); ``previous`` without an earlier run: 400 ``previous
  terminated container "c" in pod "p" not found``; otherwise the synthetic
  log of `corral.node.logs`;
- exec, attach and port-forward: 400, saying the node is simulated and runs
  nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

from corral.machinery.status import BadRequest
from corral.node.logs import LogRequest, LogSource, log_lines
from corral.node.podsync import PodSync

_VERBS = {"exec": "exec into", "attach": "attach to", "portforward": "forward ports of"}


class SimulatedConnector:
    """`NodeConnector` for the simulated nodes of one `PodSync`."""

    def __init__(self, sync: PodSync, stopped: asyncio.Event) -> None:
        self.sync = sync
        self.stopped = stopped

    def serves(self, node_name: str) -> bool:
        return node_name in self.sync.nodes

    async def container_logs(
        self,
        pod: Mapping[str, Any],
        container: str,
        *,
        follow: bool = False,
        previous: bool = False,
        timestamps: bool = False,
        tail_lines: int | None = None,
        limit_bytes: int | None = None,
        since: float | None = None,
    ) -> AsyncIterator[bytes]:
        meta = pod.get("metadata") or {}
        name, namespace = str(meta.get("name", "")), str(meta.get("namespace", ""))
        rt = self.sync.runtimes.get(str(meta.get("uid", "")))
        run = rt.run_of(container, previous) if rt is not None else None
        if previous and run is None:
            raise BadRequest(
                f'previous terminated container "{container}" in pod "{name}" not found'
            )
        if run is None:
            spec = pod.get("spec") or {}
            inits = {str(c.get("name")) for c in spec.get("initContainers") or []}
            reason = "PodInitializing" if inits and container not in inits else "ContainerCreating"
            if container in inits:
                reason = "PodInitializing"
            raise BadRequest(
                f'container "{container}" in pod "{name}" is waiting to start: {reason}'
            )
        source = LogSource(namespace, name, container, run, self.sync.options.log_interval)
        request = LogRequest(follow, timestamps, tail_lines, limit_bytes, since)
        uid = rt.uid if rt is not None else ""
        return log_lines(
            source, request, stopped=self.stopped, alive=lambda: uid in self.sync.runtimes
        )

    async def container_stream(
        self, pod: Mapping[str, Any], container: str, subresource: str
    ) -> None:
        meta = pod.get("metadata") or {}
        node = str((pod.get("spec") or {}).get("nodeName") or "")
        what = f'pod "{meta.get("namespace")}/{meta.get("name")}"'
        if container:
            what = f'container "{container}" of {what}'
        verb = _VERBS.get(subresource, subresource)
        raise BadRequest(
            f'cannot {verb} {what}: node "{node}" is a simulated node (corral server '
            "--simulate-nodes) and runs no containers"
        )
