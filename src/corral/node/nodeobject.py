"""The Node and Lease objects of a simulated node, as a kubelet registers them.

`NodeIdentity` fixes everything about node ``i`` that must be stable across
restarts (name, addresses, pod CIDR, machine IDs); `node_manifest` is what
registration creates (labels, annotations, spec), `node_status` what each
status report writes (capacity, allocatable, conditions with the kubelet's
reasons and messages, addresses, nodeInfo), `lease_manifest` the heartbeat
Lease in ``kube-node-lease``.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from corral.node.addresses import node_ip, pod_cidr
from corral.node.refs import NODE_LEASE_NAMESPACE, SIMULATED_ANNOTATION, node_name
from corral.node.timefmt import rfc3339, rfc3339_micro

Obj = dict[str, Any]

INSTANCE_TYPE = "simulated"
RUNTIME_VERSION = "simulated://1.0"
CAPACITY = {
    "cpu": "8",
    "ephemeral-storage": "100Gi",
    "hugepages-1Gi": "0",
    "hugepages-2Mi": "0",
    "memory": "32Gi",
    "pods": "110",
}
#: Capacity less the kubelet's default hard eviction thresholds (memory 100Mi, nodefs 10%).
ALLOCATABLE = {**CAPACITY, "memory": "32668Mi", "ephemeral-storage": "90Gi"}

#: (type, status, reason, message) of each condition a healthy kubelet reports.
CONDITIONS = (
    (
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
    ),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    """What never changes about simulated node ``index``."""

    index: int

    @property
    def name(self) -> str:
        return node_name(self.index)

    @property
    def internal_ip(self) -> str:
        return node_ip(self.index)

    @property
    def pod_cidr(self) -> str:
        return pod_cidr(self.index)

    def _id(self, what: str) -> str:
        return hashlib.sha256(f"{what}/{self.name}".encode()).hexdigest()[:32]

    @property
    def machine_id(self) -> str:
        return self._id("machine")

    @property
    def system_uuid(self) -> str:
        return str(uuid.UUID(self._id("system")))


def node_labels(ident: NodeIdentity) -> dict[str, str]:
    return {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": ident.name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": INSTANCE_TYPE,
    }


def node_annotations() -> dict[str, str]:
    return {
        SIMULATED_ANNOTATION: "true",
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
    }


def node_manifest(ident: NodeIdentity) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": ident.name,
            "labels": node_labels(ident),
            "annotations": node_annotations(),
        },
        "spec": {
            "podCIDR": ident.pod_cidr,
            "podCIDRs": [ident.pod_cidr],
            "providerID": f"simulated://{ident.name}",
        },
    }


def node_status(
    ident: NodeIdentity, kubelet_version: str, boot_id: str, now: float, old: Obj
) -> Obj:
    """The status to report at ``now``; transition times carry over from ``old``."""
    previous = {str(c.get("type")): c for c in old.get("conditions") or [] if isinstance(c, dict)}
    stamp = rfc3339(now)
    conditions = []
    for kind, status, reason, message in CONDITIONS:
        before = previous.get(kind) or {}
        since = before.get("lastTransitionTime") if before.get("status") == status else None
        conditions.append(
            {
                "type": kind,
                "status": status,
                "lastHeartbeatTime": stamp,
                "lastTransitionTime": since or stamp,
                "reason": reason,
                "message": message,
            }
        )
    return {
        "capacity": dict(CAPACITY),
        "allocatable": dict(ALLOCATABLE),
        "conditions": conditions,
        "addresses": [
            {"type": "InternalIP", "address": ident.internal_ip},
            {"type": "Hostname", "address": ident.name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": ident.machine_id,
            "systemUUID": ident.system_uuid,
            "bootID": boot_id,
            "kernelVersion": "6.1.0-simulated",
            "osImage": "Corral simulated node",
            "containerRuntimeVersion": RUNTIME_VERSION,
            "kubeletVersion": kubelet_version,
            "kubeProxyVersion": kubelet_version,
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    }


def needs_report(ident: NodeIdentity, node: Obj) -> bool:
    """Whether someone else changed what the node reports (its Ready condition, capacity)."""
    status = node.get("status") or {}
    ready = next(
        (
            c
            for c in status.get("conditions") or []
            if isinstance(c, dict) and c.get("type") == "Ready"
        ),
        None,
    )
    if ready is None or ready.get("status") != "True" or ready.get("reason") != "KubeletReady":
        return True
    return status.get("capacity") != CAPACITY


def lease_manifest(ident: NodeIdentity, node_uid: str, duration: int, now: float) -> Obj:
    lease: Obj = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": ident.name, "namespace": NODE_LEASE_NAMESPACE},
        "spec": {
            "holderIdentity": ident.name,
            "leaseDurationSeconds": duration,
            "renewTime": rfc3339_micro(now),
        },
    }
    if node_uid:
        lease["metadata"]["ownerReferences"] = [
            {"apiVersion": "v1", "kind": "Node", "name": ident.name, "uid": node_uid}
        ]
    return lease
