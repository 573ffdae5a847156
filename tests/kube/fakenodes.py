"""Nodes made by hand for the scheduler and node lifecycle tests.

A test does the kubelet's part itself: it registers a Node (capacity,
allocatable, labels, taints, a Ready condition) and its heartbeat Lease in
``kube-node-lease``, and renews both while it wants the node alive. No
dependency on the simulated nodes of ``corral server --simulate-nodes``.
"""

from __future__ import annotations

import asyncio
import uuid
from contextlib import suppress
from datetime import UTC, datetime
from functools import partial
from typing import Any

import polling
from corral.client import Client, PatchType, ResourceRef
from corral.machinery.status import NotFound

NODES = ResourceRef("", "v1", "nodes", namespaced=False, kind="Node")
PODS = ResourceRef("", "v1", "pods", kind="Pod")
EVENTS = ResourceRef("", "v1", "events", kind="Event")
LEASES = ResourceRef("coordination.k8s.io", "v1", "leases", kind="Lease")
NAMESPACES = ResourceRef("", "v1", "namespaces", namespaced=False, kind="Namespace")
LEASE_NS = "kube-node-lease"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ready_condition(status: str = "True") -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": status,
        "reason": "KubeletReady" if status == "True" else "KubeletNotReady",
        "message": "kubelet is posting ready status",
        "lastHeartbeatTime": micro_now(),
        "lastTransitionTime": now(),
    }


async def new_namespace(client: Client) -> str:
    name = "t-" + uuid.uuid4().hex[:8]
    await client.create(NAMESPACES, {"metadata": {"name": name}})
    return name


async def ensure_lease_namespace(client: Client) -> None:
    with suppress(Exception):
        await client.create(NAMESPACES, {"metadata": {"name": LEASE_NS}})


async def create_node(
    client: Client,
    name: str,
    *,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: int = 110,
    labels: dict[str, str] | None = None,
    taints: list[dict[str, Any]] | None = None,
    ready: str = "True",
    lease: bool = True,
) -> dict[str, Any]:
    """A Node with the given capacity (= allocatable), Ready condition and Lease."""
    resources = {"cpu": cpu, "memory": memory, "pods": str(pods)}
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": taints} if taints else {},
    }
    await client.create(NODES, body)
    status = {
        "capacity": resources,
        "allocatable": resources,
        "conditions": [ready_condition(ready)],
    }
    node = await client.patch(NODES, name, {"status": status}, subresource="status")
    if lease:
        await ensure_lease_namespace(client)
        await client.create(
            LEASES,
            {
                "metadata": {"name": name, "namespace": LEASE_NS},
                "spec": {
                    "holderIdentity": name,
                    "leaseDurationSeconds": 40,
                    "renewTime": micro_now(),
                },
            },
            namespace=LEASE_NS,
        )
    return node


async def heartbeat(client: Client, name: str, *, ready: str = "True") -> None:
    """What a kubelet does: renew the lease and post the Ready condition."""
    await client.patch(LEASES, name, {"spec": {"renewTime": micro_now()}}, namespace=LEASE_NS)
    await client.patch(
        NODES,
        name,
        {"status": {"conditions": [ready_condition(ready)]}},
        subresource="status",
        patch_type=PatchType.STRATEGIC,
    )


class Kubelet:
    """Keeps a node alive (heartbeat every ``period`` s) until `stop`."""

    def __init__(self, client: Client, name: str, period: float = 0.5) -> None:
        self.client = client
        self.name = name
        self.period = period
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            with suppress(Exception):
                await heartbeat(self.client, self.name)
            await asyncio.sleep(self.period)

    async def stop(self) -> None:
        self.task.cancel()
        with suppress(asyncio.CancelledError):
            await self.task


async def delete_node(client: Client, name: str) -> None:
    with suppress(NotFound):
        await client.delete(NODES, name)
    with suppress(NotFound):
        await client.delete(LEASES, name, namespace=LEASE_NS)


async def force_delete_pods(client: Client, namespace: str) -> None:
    async for pod in client.list_items(PODS, namespace=namespace):
        with suppress(NotFound):
            await client.delete(
                PODS, pod["metadata"]["name"], namespace=namespace, grace_period_seconds=0
            )


def pod_body(
    name: str,
    *,
    cpu: str | None = None,
    memory: str | None = None,
    spec: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    container: dict[str, Any] = {"name": "c", "image": "busybox:1.36"}
    if requests:
        container["resources"] = {"requests": requests}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"containers": [container], **(spec or {})},
    }


eventually = partial(polling.eventually, deadline=20.0)


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == type_:
            return dict(item)
    return None


def taint_keys(node: dict[str, Any]) -> set[tuple[str, str]]:
    return {(t["key"], t["effect"]) for t in (node.get("spec") or {}).get("taints") or []}


async def events_for(client: Client, namespace: str, name: str) -> list[dict[str, Any]]:
    listed = await client.list(
        EVENTS, namespace=namespace, field_selector=f"involvedObject.name={name}"
    )
    items: list[dict[str, Any]] = listed.get("items") or []
    return items
