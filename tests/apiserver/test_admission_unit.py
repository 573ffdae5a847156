"""The admission plugins' rules without a server: quantities, limits, quotas, allocation.

Quantity text must match Kubernetes' exactly (it is in every refusal), the
LimitRange and quota messages are Kubernetes' own, and allocation must
hand out each address once however many callers race for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import orjson
import pytest

from corral.apiserver.admission.allocator import KeyAllocator, static_band
from corral.apiserver.admission.limitranger import (
    aggregate,
    apply_defaults,
    claim_errors,
    container_defaults,
    pod_errors,
)
from corral.apiserver.admission.resourcequota import missing_requests, pretty
from corral.apiserver.admission.services import ServiceAllocator, ServiceRanges
from corral.machinery.admission import Attributes, Operation
from corral.machinery.quota import format_quantity, format_usage, parse, usage
from corral.machinery.status import Invalid
from corral.storage.memory import MemoryBackend


@pytest.mark.parametrize(
    ("text", "binary", "shown"),
    [
        ("2", False, "2"),
        ("0.5", False, "500m"),
        ("1500", False, "1500"),
        ("2000", False, "2k"),
        ("1Gi", True, "1Gi"),
        ("1536Mi", True, "1536Mi"),
        ("1.5Gi", True, "1536Mi"),
        ("100m", False, "100m"),
        ("0", False, "0"),
        ("1e3", False, "1k"),
    ],
)
def test_quantities_print_as_kubernetes_does(text: str, binary: bool, shown: str) -> None:
    value = parse(text)
    assert value is not None
    assert format_quantity(value, binary) == shown


def test_usage_prints_memory_in_binary_units() -> None:
    assert format_usage("requests.memory", Decimal(768 * 1024**2)) == "768Mi"
    assert format_usage("requests.cpu", Decimal("1.5")) == "1500m"
    assert format_usage("requests.storage", Decimal(10**9)) == "1G"


def test_pod_usage_counts_containers_init_containers_and_phase() -> None:
    pod = {
        "spec": {
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "250m"}, "limits": {"cpu": "1"}}},
                {"name": "b", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}},
            ],
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2"}}}],
        }
    }
    used = usage("", "pods", pod)
    assert used["pods"] == 1
    assert used["count/pods"] == 1
    assert used["requests.cpu"] == 2  # the init container is larger than the sum
    assert used["cpu"] == 2
    assert used["limits.cpu"] == 1
    assert used["requests.memory"] == 64 * 1024**2
    done = {**pod, "status": {"phase": "Succeeded"}}
    assert usage("", "pods", done) == {"count/pods": 1}
    assert usage("apps", "deployments", {}) == {"count/deployments.apps": 1}


def test_service_usage_counts_node_ports() -> None:
    svc = {"spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 443}]}}
    assert usage("", "services", svc) == {
        "count/services": 1,
        "services": 1,
        "services.loadbalancers": 0,
        "services.nodeports": 2,
    }


def test_limit_range_defaults_and_annotation() -> None:
    item = {"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}}
    assert container_defaults(item) == ({"cpu": "2", "memory": "64Mi"}, {"cpu": "2"})
    pod: dict[str, Any] = {
        "spec": {"containers": [{"name": "app"}]},
        "status": {"qosClass": "BestEffort"},
    }
    lr = {"spec": {"limits": [{"type": "Container", "default": {"cpu": "1"}}]}}
    assert apply_defaults(pod, [lr])
    assert pod["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "1"},
        "requests": {"cpu": "1"},
    }
    assert pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu request for container app; cpu limit for container app"
    )
    assert pod["status"]["qosClass"] == "Burstable"


def test_limit_range_messages() -> None:
    lr = {
        "spec": {
            "limits": [
                {"type": "Container", "max": {"memory": "1Gi"}, "min": {"cpu": "100m"}},
                {"type": "PersistentVolumeClaim", "max": {"storage": "5Gi"}},
            ]
        }
    }
    pod = {"spec": {"containers": [{"name": "a", "resources": {"requests": {"memory": "2Gi"}}}]}}
    assert pod_errors(pod, [lr]) == [
        "minimum cpu usage per Container is 100m.  No request is specified",
        "maximum memory usage per Container is 1Gi.  No limit is specified",
    ]
    claim = {"spec": {"resources": {"requests": {"storage": "6Gi"}}}}
    assert claim_errors(claim, [lr]) == [
        "maximum storage usage per PersistentVolumeClaim is 5Gi, but request is 6Gi"
    ]
    assert aggregate(["x"]) == "x"
    assert aggregate(["x", "y", "x"]) == "[x, y]"


def test_quota_messages() -> None:
    assert pretty({"requests.memory": "1Gi", "pods": "1"}) == "pods=1,requests.memory=1Gi"
    pod = {
        "spec": {
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "1"}}},
                {"name": "b"},
            ]
        }
    }
    assert missing_requests(pod, {"requests.cpu", "limits.cpu"}) == (
        "must specify limits.cpu for: a,b; requests.cpu for: b"
    )


@pytest.fixture
async def backend() -> AsyncIterator[MemoryBackend]:
    store = MemoryBackend()
    await store.start()
    yield store
    await store.close()


async def test_racing_allocations_never_share_an_offset(backend: MemoryBackend) -> None:
    allocator = KeyAllocator(
        backend, "/t/", 64, str, lambda s: int(s), band=static_band(64, 16, 256)
    )
    picked = await asyncio.gather(*(allocator.pick(f"o{i}") for i in range(64)))
    assert sorted(p for p in picked if p is not None) == list(range(64))
    assert await allocator.pick("late") is None
    await allocator.release(5, "someone-else")
    assert not await allocator.is_free(5)
    await allocator.release(5, f"o{picked.index(5)}")
    assert await allocator.pick("late") == 5


async def test_service_update_releases_what_it_drops(backend: MemoryBackend) -> None:
    plugin = ServiceAllocator(backend, ServiceRanges("10.0.0.0/28", (30000, 30003)))
    svc: dict[str, Any] = {
        "metadata": {"uid": "u1"},
        "spec": {"type": "NodePort", "ports": [{"port": 80, "protocol": "TCP"}]},
    }
    attrs = Attributes(Operation.CREATE, "", "v1", "services", "Service", "ns", "s", obj=svc)
    await (await plugin.admit(attrs)).commit()
    ip, node_port = svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["nodePort"]
    assert ip.startswith("10.0.0.")
    assert ip != "10.0.0.1"
    assert 30000 <= node_port <= 30003
    new = {
        "metadata": {"uid": "u1"},
        "spec": {"type": "ClusterIP", "clusterIP": ip, "ports": [{"port": 80}]},
    }
    update = Attributes(
        Operation.UPDATE, "", "v1", "services", "Service", "ns", "s", obj=new, old=svc
    )
    await (await plugin.admit(update)).commit()
    assert await plugin.ports.is_free(node_port - 30000)
    other = {
        "metadata": {"uid": "u2"},
        "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip]},
    }
    with pytest.raises(Invalid, match="provided IP is already allocated"):
        await plugin.admit(
            Attributes(Operation.CREATE, "", "v1", "services", "Service", "ns", "t", obj=other)
        )
    await plugin.released(
        Attributes(Operation.DELETE, "", "v1", "services", "Service", "ns", "s", old=new)
    )
    admitted = await plugin.admit(
        Attributes(Operation.CREATE, "", "v1", "services", "Service", "ns", "t", obj=other)
    )
    await admitted.abort()  # the write failed: the address is free again
    assert (await plugin.ips.allocations()) == []


async def test_repair_frees_leaks_and_records_unallocated(backend: MemoryBackend) -> None:
    plugin = ServiceAllocator(backend, ServiceRanges("10.0.0.0/24", (30000, 30010)))
    stored = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "old", "namespace": "ns", "uid": "held"},
        "spec": {"type": "NodePort", "clusterIP": "10.0.0.9", "ports": [{"nodePort": 30004}]},
    }
    await backend.create("/registry/core/services/ns/old", orjson.dumps(stored))
    assert await plugin.ips.allocate(20, "gone")
    assert await plugin.repair(grace=0) == 3
    assert await plugin.ips.is_free(20)
    holder = await plugin.ips.holder(plugin._ip_offset("10.0.0.9") or 0)
    assert holder is not None
    assert holder.owner == "held"
    assert not await plugin.ports.is_free(4)
    assert await plugin.repair(grace=0) == 0
