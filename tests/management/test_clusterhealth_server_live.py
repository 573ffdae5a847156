"""The health controllers inside a real ``corral server``: elected, acting, stopping cleanly.

A management server runs them under their own Lease; a Cluster whose agent
is said to be connected but cannot be reached (no tunnel here) is reported
``Ready`` False ``APIUnavailable`` with the reason, by the controllers acting
as ``system:corral-cluster-health``; the server then stops with exit 0.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from corral.client import Client, ResourceRef
from corral.controller import get_condition, set_condition
from corral.machinery.status import Conflict
from corral.management.clusterkinds import CLUSTERS, ensure_cluster_kinds
from polling import eventually
from serverproc import CorralServer, controller_args, running_server

pytestmark = pytest.mark.timeout(90)

LEASES = ResourceRef("coordination.k8s.io", "v1", "leases", kind="Lease")
soon = functools.partial(eventually, deadline=30.0, interval=0.2)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorralServer]:
    with running_server(tmp_path_factory.mktemp("health") / "data", controller_args("-*")) as srv:
        yield srv


async def _connect(client: Client, name: str) -> None:
    for _ in range(20):
        cluster = await client.get(CLUSTERS, name)
        set_condition(cluster, "Connected", True, "AgentConnected")
        agent = cluster.setdefault("status", {}).setdefault("agent", {})
        agent.update(connected=True, lastConnected=datetime.now(UTC).isoformat())
        try:
            await client.update(CLUSTERS, cluster, subresource="status")
            return
        except Conflict:
            await asyncio.sleep(0.05)
    raise AssertionError("Connected not written")


async def test_server_runs_the_health_controllers_under_their_lease(server: CorralServer) -> None:
    async with Client.from_kubeconfig(server.kubeconfig_path) as client:
        await ensure_cluster_kinds(client)
        body = {
            "apiVersion": "management.corral.io/v1",
            "kind": "Cluster",
            "metadata": {"name": "c-wired"},
            "spec": {"displayName": "wired"},
        }
        await client.create(CLUSTERS, body)
        await _connect(client, "c-wired")

        async def reported() -> dict[str, Any] | None:
            cluster = await client.get(CLUSTERS, "c-wired")
            ready = get_condition(cluster, "Ready") or {}
            return ready if ready.get("reason") == "APIUnavailable" else None

        ready = await soon(reported, "Ready False APIUnavailable")
        assert ready["status"] == "False"
        assert "agent not connected" in ready["message"]
        cluster = await client.get(CLUSTERS, "c-wired")
        assert cluster["status"]["state"] == "unavailable"
        lease = await client.get(LEASES, "corral-cluster-health", namespace="kube-system")
        assert lease["spec"]["holderIdentity"]
