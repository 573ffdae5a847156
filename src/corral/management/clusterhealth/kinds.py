"""The resources the health controllers read and write, on both sides.

On the management server: Clusters (``corral.management.clusterkinds``,
status through ``/status``), Users, the cluster-wide RBAC objects that make
a global admin, and the Events mirrored into each cluster's namespace.
Downstream: nodes, pods, events, and the ClusterRoleBindings that give
admins and the creator cluster-admin.
"""

from __future__ import annotations

from corral.client import ResourceRef
from corral.management.clusterkinds import CLUSTERS, CREATOR_ANNOTATION, LOCAL_CLUSTER
from corral.management.kinds import GROUP, USERS

NODES = ResourceRef("", "v1", "nodes", namespaced=False, kind="Node")
PODS = ResourceRef("", "v1", "pods", kind="Pod")
EVENTS = ResourceRef("", "v1", "events", kind="Event")
CLUSTER_ROLE_BINDINGS = ResourceRef(
    "rbac.authorization.k8s.io",
    "v1",
    "clusterrolebindings",
    namespaced=False,
    kind="ClusterRoleBinding",
)
CLUSTER_ROLES = ResourceRef(
    "rbac.authorization.k8s.io", "v1", "clusterroles", namespaced=False, kind="ClusterRole"
)

__all__ = [
    "CLUSTERS",
    "CLUSTER_ROLES",
    "CLUSTER_ROLE_BINDINGS",
    "CREATOR_ANNOTATION",
    "EVENTS",
    "GROUP",
    "LOCAL_CLUSTER",
    "NODES",
    "PODS",
    "USERS",
]
