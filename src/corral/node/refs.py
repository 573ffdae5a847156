"""The resources, names and annotations simulated nodes use, spelled once.

`corral.node` may not import `corral.kube` (same layer), so it names the few
resources it touches itself.
"""

from __future__ import annotations

from typing import Any

from corral.client import ResourceRef

NODES = ResourceRef("", "v1", "nodes", namespaced=False, kind="Node")
PODS = ResourceRef("", "v1", "pods", kind="Pod")
LEASES = ResourceRef("coordination.k8s.io", "v1", "leases", kind="Lease")

NODE_LEASE_NAMESPACE = "kube-node-lease"
NAME_PREFIX = "corral-sim-"
NODES_GROUP = "system:nodes"

#: Set on every simulated Node: it runs nothing.
SIMULATED_ANNOTATION = "corral.io/simulated"
#: ``stopped`` on a simulated Node: its agent stops heartbeating, as if the
#: kubelet had died, until the annotation is removed (demos, failover tests).
HEARTBEAT_ANNOTATION = "corral.io/simulate-heartbeat"


def heartbeat_stopped(node: dict[str, Any]) -> bool:
    """True if the Node asks its simulated agent to stop heartbeating."""
    annotations = (node.get("metadata") or {}).get("annotations") or {}
    return bool(annotations.get(HEARTBEAT_ANNOTATION) == "stopped")


#: On a pod (restartPolicy Never/OnFailure, or Always to crash-loop): its containers
#: exit with this code.
EXIT_CODE_ANNOTATION = "corral.io/simulate-exit-code"
#: How long the containers of such a pod run before they exit (default 0).
RUN_SECONDS_ANNOTATION = "corral.io/simulate-run-seconds"


def node_name(index: int) -> str:
    """The name of simulated node ``index`` (stable across restarts)."""
    return f"{NAME_PREFIX}{index}"


def node_user(name: str) -> str:
    """The identity a node acts as, as Kubernetes names kubelets."""
    return f"system:node:{name}"
