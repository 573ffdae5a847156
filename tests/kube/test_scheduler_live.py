"""The scheduler inside a real ``corral server --controllers scheduler``.

Nodes are made by hand (tests/kube/fakenodes.py); each test removes its nodes
and pods, so the "0/N nodes" counts are its own. Waits are polls with
deadlines.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from corral.client import Client
from kubectlproc import kubectl_ok
from serverproc import CorralServer, controller_args, module_server

from .fakenodes import (
    NODES,
    PODS,
    condition,
    create_node,
    delete_node,
    events_for,
    eventually,
    force_delete_pods,
    new_namespace,
    pod_body,
)

server = module_server("scheduler", controller_args("scheduler"))


class Cluster:
    """A namespace and the nodes a test made, removed afterwards."""

    def __init__(self, client: Client, namespace: str) -> None:
        self.client = client
        self.ns = namespace
        self.nodes: list[str] = []

    async def node(self, name: str, **kwargs: Any) -> None:
        await create_node(self.client, name, lease=False, **kwargs)
        self.nodes.append(name)

    async def pod(self, name: str, **kwargs: Any) -> dict[str, Any]:
        return await self.client.create(PODS, pod_body(name, **kwargs), namespace=self.ns)

    async def get(self, name: str) -> dict[str, Any]:
        return await self.client.get(PODS, name, namespace=self.ns)

    async def wait_bound(self, name: str, deadline: float = 20.0) -> str:
        async def bound() -> bool:
            return bool((await self.get(name))["spec"].get("nodeName"))

        await eventually(bound, deadline=deadline)
        node: str = (await self.get(name))["spec"]["nodeName"]
        return node

    async def wait_unschedulable(self, name: str) -> dict[str, Any]:
        async def marked() -> bool:
            found = condition(await self.get(name), "PodScheduled")
            return found is not None and found.get("reason") == "Unschedulable"

        await eventually(marked)
        found = condition(await self.get(name), "PodScheduled")
        assert found is not None
        return found

    async def cleanup(self) -> None:
        await force_delete_pods(self.client, self.ns)
        for name in self.nodes:
            await delete_node(self.client, name)

        async def gone() -> bool:
            listed = await self.client.list(NODES)
            names = {n["metadata"]["name"] for n in listed.get("items") or []}
            return not names & set(self.nodes)

        await eventually(gone)


@pytest.fixture
async def cluster(server: CorralServer) -> AsyncIterator[Cluster]:
    async with Client.from_kubeconfig(server.kubeconfig_path) as client:
        made = Cluster(client, await new_namespace(client))
        try:
            yield made
        finally:
            await made.cleanup()


async def test_pods_land_only_where_requests_fit(cluster: Cluster) -> None:
    await cluster.node("fit-small", cpu="1", memory="1Gi")
    await cluster.node("fit-big", cpu="8", memory="16Gi")
    await cluster.pod("needs-two-cpus", cpu="2", memory="1Gi")
    await cluster.pod("needs-4gi", cpu="100m", memory="4Gi")
    assert await cluster.wait_bound("needs-two-cpus") == "fit-big"
    assert await cluster.wait_bound("needs-4gi") == "fit-big"
    bound = await cluster.get("needs-two-cpus")
    scheduled = condition(bound, "PodScheduled")
    assert scheduled is not None
    assert scheduled["status"] == "True"

    async def scheduled_event() -> bool:
        events = await events_for(cluster.client, cluster.ns, "needs-two-cpus")
        return any(e["reason"] == "Scheduled" for e in events)

    await eventually(scheduled_event)
    events = await events_for(cluster.client, cluster.ns, "needs-two-cpus")
    event = next(e for e in events if e["reason"] == "Scheduled")
    assert event["type"] == "Normal"
    assert event["message"] == f"Successfully assigned {cluster.ns}/needs-two-cpus to fit-big"
    assert event["source"]["component"] == "default-scheduler"


async def test_node_selector_affinity_and_taints(cluster: Cluster) -> None:
    await cluster.node("sel-ssd", labels={"disk": "ssd", "cores": "16"})
    await cluster.node("sel-hdd", labels={"disk": "hdd", "cores": "4"})
    await cluster.node(
        "sel-gpu",
        labels={"disk": "ssd", "cores": "64"},
        taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
    )
    await cluster.pod("by-selector", spec={"nodeSelector": {"disk": "hdd"}})
    required = {
        "nodeSelectorTerms": [
            {
                "matchExpressions": [
                    {"key": "disk", "operator": "In", "values": ["ssd"]},
                    {"key": "cores", "operator": "Gt", "values": ["8"]},
                ]
            }
        ]
    }
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}
    await cluster.pod("by-affinity", spec={"affinity": affinity})
    toleration = {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
    by_name = {
        "nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["sel-gpu"]}]}
        ]
    }
    await cluster.pod(
        "tolerating",
        spec={
            "tolerations": [toleration],
            "affinity": {
                "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": by_name}
            },
        },
    )
    assert await cluster.wait_bound("by-selector") == "sel-hdd"
    # sel-gpu matches the terms too, but its taint is not tolerated
    assert await cluster.wait_bound("by-affinity") == "sel-ssd"
    assert await cluster.wait_bound("tolerating") == "sel-gpu"
    for i in range(10):
        await cluster.pod(f"plain-{i}")
    for i in range(10):
        assert await cluster.wait_bound(f"plain-{i}") in ("sel-ssd", "sel-hdd")


async def test_unschedulable_pod_is_reported_then_scheduled_when_a_node_fits(
    cluster: Cluster, server: CorralServer, tmp_path: Path
) -> None:
    await cluster.node("un-small-1", cpu="1")
    await cluster.node("un-small-2", cpu="1")
    await cluster.node(
        "un-tainted", cpu="16", taints=[{"key": "node-role", "value": "x", "effect": "NoSchedule"}]
    )
    await cluster.pod("big", cpu="2")
    scheduled = await cluster.wait_unschedulable("big")
    message = (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role: x}, "
        "2 Insufficient cpu."
    )
    assert scheduled["status"] == "False"
    assert scheduled["message"] == message

    async def failed_event() -> bool:
        events = await events_for(cluster.client, cluster.ns, "big")
        return any(e["reason"] == "FailedScheduling" for e in events)

    await eventually(failed_event)
    event = next(
        e
        for e in await events_for(cluster.client, cluster.ns, "big")
        if e["reason"] == "FailedScheduling"
    )
    assert event["type"] == "Warning"
    assert event["message"] == message
    assert event["involvedObject"]["kind"] == "Pod"
    assert event["source"]["component"] == "default-scheduler"
    assert event["reportingComponent"] == "default-scheduler"

    described = kubectl_ok(server, tmp_path, "describe", "pod", "big", "-n", cluster.ns)
    assert "FailedScheduling" in described
    assert re.search(r"Warning\s+FailedScheduling", described), described
    assert "Insufficient cpu" in described
    assert "default-scheduler" in described

    await cluster.node("un-large", cpu="4")
    assert await cluster.wait_bound("big") == "un-large"


async def test_two_hundred_pods_spread_over_five_nodes_within_capacity(
    cluster: Cluster,
) -> None:
    for i in range(5):
        await cluster.node(f"spread-{i}", cpu="2", memory="8Gi", pods=110)
    limit = asyncio.Semaphore(16)

    async def make(i: int) -> None:
        async with limit:
            await cluster.pod(f"w-{i}", cpu="50m", memory="10Mi", labels={"app": "spread"})

    await asyncio.gather(*(make(i) for i in range(200)))

    async def all_bound() -> bool:
        listed = await cluster.client.list(PODS, namespace=cluster.ns)
        items = listed.get("items") or []
        return len(items) == 200 and all(p["spec"].get("nodeName") for p in items)

    await eventually(all_bound, deadline=60)
    listed = await cluster.client.list(PODS, namespace=cluster.ns)
    per_node = Counter(p["spec"]["nodeName"] for p in listed["items"])
    # 2 cpu / 50m = 40 pods per node: exactly full, never over
    assert per_node == Counter({f"spread-{i}": 40 for i in range(5)})

    await cluster.pod("one-too-many", cpu="50m")
    found = await cluster.wait_unschedulable("one-too-many")
    assert found["message"] == "0/5 nodes are available: 5 Insufficient cpu."
