"""What the API server hears from simulated nodes for logs and exec, before any pod runs there."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from corral.client import Client, Response, StreamResponse
from corral.client.transport import Query
from corral.machinery.status import BadRequest
from corral.node.options import SimulatedNodeOptions
from corral.node.simulated import SimulatedNodes


class Unused:
    """A transport nothing may use: these tests never reach the API."""

    async def request(
        self,
        method: str,
        path: str,
        query: Query = (),
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        raise AssertionError("no request expected")

    def stream(
        self,
        method: str,
        path: str,
        query: Query = (),
        headers: Mapping[str, str] | None = None,
    ) -> AbstractAsyncContextManager[StreamResponse]:
        raise AssertionError("no stream expected")

    async def close(self) -> None:
        return None


def nodes() -> SimulatedNodes:
    return SimulatedNodes(lambda *_: Client(Unused()), 2, SimulatedNodeOptions())


def pod(**spec: Any) -> dict[str, Any]:
    containers = [{"name": "web", "image": "nginx"}]
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
        "spec": {"nodeName": "corral-sim-1", "containers": containers, **spec},
    }


def test_names_and_identities() -> None:
    seen: list[tuple[str, tuple[str, ...]]] = []

    def client_for(user: str, groups: tuple[str, ...] = ()) -> Client:
        seen.append((user, groups))
        return Client(Unused())

    sim = SimulatedNodes(client_for, 2, SimulatedNodeOptions())
    assert sim.names == ["corral-sim-0", "corral-sim-1"]
    assert seen == [
        ("system:node:corral-sim-0", ("system:nodes",)),
        ("system:node:corral-sim-1", ("system:nodes",)),
    ]
    assert sim.connector.serves("corral-sim-1")
    assert not sim.connector.serves("other")


async def test_logs_of_a_pod_not_started_yet() -> None:
    connector = nodes().connector
    with pytest.raises(BadRequest) as err:
        await connector.container_logs(pod(), "web")
    assert err.value.message == 'container "web" in pod "p" is waiting to start: ContainerCreating'
    with pytest.raises(BadRequest) as err:
        await connector.container_logs(pod(initContainers=[{"name": "i"}]), "web")
    assert err.value.message.endswith("is waiting to start: PodInitializing")
    with pytest.raises(BadRequest) as err:
        await connector.container_logs(pod(), "web", previous=True)
    assert err.value.message == 'previous terminated container "web" in pod "p" not found'


async def test_exec_attach_portforward_say_the_node_runs_nothing() -> None:
    connector = nodes().connector
    for sub, verb in (("exec", "exec into"), ("attach", "attach to"), ("portforward", "forward")):
        with pytest.raises(BadRequest) as err:
            await connector.container_stream(pod(), "web" if sub != "portforward" else "", sub)
        assert err.value.code == 400
        assert err.value.message.startswith(f"cannot {verb}")
        assert 'node "corral-sim-1" is a simulated node' in err.value.message
