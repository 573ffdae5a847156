"""Node lifecycle inside a real ``corral server --controllers nodelifecycle,scheduler``.

Grace period 3 s. The test plays the kubelets (tests/kube/fakenodes.py): a
`Kubelet` renews a node's Lease and Ready heartbeat; stopping it makes the
node silent. Waits are polls with deadlines.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from typing import Any

import pytest

from corral.client import Client
from corral.machinery.status import NotFound
from serverproc import CorralServer, controller_args, running_server

from .fakenodes import (
    NODES,
    PODS,
    Kubelet,
    condition,
    create_node,
    delete_node,
    events_for,
    eventually,
    force_delete_pods,
    heartbeat,
    new_namespace,
    pod_body,
    taint_keys,
)

GRACE = 3.0
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorralServer]:
    data_dir = tmp_path_factory.mktemp("nodelifecycle") / "data"
    args = controller_args("nodelifecycle,scheduler", "--node-monitor-grace-period", f"{GRACE:g}s")
    with running_server(data_dir, args) as s:
        yield s


@pytest.fixture
async def client(server: CorralServer) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(server.kubeconfig_path) as c:
        yield c


async def get_pod(client: Client, ns: str, name: str) -> dict[str, Any] | None:
    try:
        return await client.get(PODS, name, namespace=ns)
    except NotFound:
        return None


def on(node: str, tolerations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"nodeName": node}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    return spec


def unreachable_for(seconds: int) -> dict[str, Any]:
    return {
        "key": UNREACHABLE,
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": seconds,
    }


async def test_silent_node_is_tainted_emptied_and_recovers(client: Client) -> None:
    ns = await new_namespace(client)
    await create_node(client, "lc-alive")
    await create_node(client, "lc-dead")
    alive, dead = Kubelet(client, "lc-alive"), Kubelet(client, "lc-dead")
    try:
        # default tolerations (300 s, from DefaultTolerationSeconds), a short and a long one
        await client.create(PODS, pod_body("default", spec=on("lc-dead")), namespace=ns)
        await client.create(
            PODS, pod_body("short", spec=on("lc-dead", [unreachable_for(2)])), namespace=ns
        )
        await client.create(
            PODS, pod_body("long", spec=on("lc-dead", [unreachable_for(3600)])), namespace=ns
        )
        await client.create(PODS, pod_body("elsewhere", spec=on("lc-alive")), namespace=ns)
        default_pod = await get_pod(client, ns, "default")
        assert default_pod is not None
        assert {
            "key": UNREACHABLE,
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        } in default_pod["spec"]["tolerations"]

        await dead.stop()
        silent_since = time.monotonic()

        async def unreachable() -> bool:
            node = await client.get(NODES, "lc-dead")
            keys = taint_keys(node)
            return (UNREACHABLE, "NoExecute") in keys and (UNREACHABLE, "NoSchedule") in keys

        await eventually(unreachable, deadline=GRACE + 10)
        assert time.monotonic() - silent_since >= GRACE - 0.5
        node = await client.get(NODES, "lc-dead")
        for type_ in ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure"):
            found = condition(node, type_)
            assert found is not None, type_
            assert found["status"] == "Unknown"
            assert found["reason"] in ("NodeStatusUnknown", "NodeStatusNeverUpdated")
        ready = condition(node, "Ready")
        assert ready is not None
        assert ready["reason"] == "NodeStatusUnknown"
        assert ready["message"] == "Kubelet stopped posting node status."
        assert all(t.get("timeAdded") for t in node["spec"]["taints"] if t["key"] == UNREACHABLE)

        # the pod tolerating 2 s is deleted (then force-deleted by pod GC: the node is dead)
        async def short_gone() -> bool:
            return await get_pod(client, ns, "short") is None

        await eventually(short_gone, deadline=15)

        async def eviction_event() -> bool:
            return any(
                e["reason"] == "TaintManagerEviction"
                and e["message"] == f"Marking for deletion Pod {ns}/short"
                for e in await events_for(client, ns, "short")
            )

        await eventually(eviction_event)
        # the long toleration and the 300 s default keep theirs; the healthy node is untouched
        assert await get_pod(client, ns, "long") is not None
        assert await get_pod(client, ns, "default") is not None
        healthy = await client.get(NODES, "lc-alive")
        assert not taint_keys(healthy)
        ready_alive = condition(healthy, "Ready")
        assert ready_alive is not None
        assert ready_alive["status"] == "True"
        assert await get_pod(client, ns, "elsewhere") is not None

        # the kubelet comes back: taints go, Ready is True again
        await heartbeat(client, "lc-dead")
        dead = Kubelet(client, "lc-dead")

        async def recovered() -> bool:
            node = await client.get(NODES, "lc-dead")
            found = condition(node, "Ready")
            return not taint_keys(node) and found is not None and found["status"] == "True"

        await eventually(recovered, deadline=10)
        assert await get_pod(client, ns, "long") is not None
        assert await get_pod(client, ns, "default") is not None
    finally:
        await alive.stop()
        await dead.stop()
        await force_delete_pods(client, ns)
        await delete_node(client, "lc-alive")
        await delete_node(client, "lc-dead")


async def test_not_ready_node_gets_not_ready_taints(client: Client) -> None:
    await create_node(client, "lc-notready", ready="False")
    try:

        async def tainted() -> bool:
            node = await client.get(NODES, "lc-notready")
            return {(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")} <= taint_keys(node)

        await eventually(tainted, deadline=GRACE)
        await heartbeat(client, "lc-notready", ready="True")

        async def cleared() -> bool:
            return not taint_keys(await client.get(NODES, "lc-notready"))

        await eventually(cleared, deadline=GRACE)
    finally:
        await delete_node(client, "lc-notready")


async def test_untolerated_no_execute_taint_evicts_at_once(client: Client) -> None:
    ns = await new_namespace(client)
    await create_node(client, "lc-dedicated")
    kubelet = Kubelet(client, "lc-dedicated")
    try:
        await client.create(PODS, pod_body("intolerant", spec=on("lc-dedicated")), namespace=ns)
        tolerant = [{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}]
        await client.create(
            PODS, pod_body("tolerant", spec=on("lc-dedicated", tolerant)), namespace=ns
        )
        await client.patch(
            NODES,
            "lc-dedicated",
            {"spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoExecute"}]}},
        )

        async def evicted() -> bool:
            pod = await get_pod(client, ns, "intolerant")
            return pod is None or bool(pod["metadata"].get("deletionTimestamp"))

        await eventually(evicted, deadline=10)
        tolerant_pod = await get_pod(client, ns, "tolerant")
        assert tolerant_pod is not None
        assert not tolerant_pod["metadata"].get("deletionTimestamp")
    finally:
        await kubelet.stop()
        await force_delete_pods(client, ns)
        await delete_node(client, "lc-dedicated")


async def test_pod_gc_deletes_pods_of_nodes_that_do_not_exist(client: Client) -> None:
    ns = await new_namespace(client)
    await client.create(PODS, pod_body("orphan", spec=on("no-such-node")), namespace=ns)

    async def collected() -> bool:
        return await get_pod(client, ns, "orphan") is None

    try:
        await eventually(collected, deadline=15)
    finally:
        with suppress(NotFound):
            await force_delete_pods(client, ns)
