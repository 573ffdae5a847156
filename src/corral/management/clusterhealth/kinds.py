"""The resources the health controllers read and write, on both sides.

On the management server: Clusters (Contract 3, ``management.corral.io/v1``,
cluster-scoped, status through ``/status``), Users, and the Events mirrored
into each cluster's namespace. Downstream: nodes, pods, events, and the
ClusterRoleBindings that give admins and the creator cluster-admin.
"""

from __future__ import annotations

from typing import Final

from corral.client import ResourceRef

GROUP: Final = "management.corral.io"
CLUSTERS = ResourceRef(GROUP, "v1", "clusters", namespaced=False, kind="Cluster")
USERS = ResourceRef(GROUP, "v1", "users", namespaced=False, kind="User")

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

#: The annotation naming the user who created a Cluster (set by the server).
CREATOR_ANNOTATION: Final = "corral.io/creator-id"
#: The cluster Corral itself is; it has no agent and is not watched here.
LOCAL_CLUSTER: Final = "local"
CLUSTER_ROLES = ResourceRef(
    "rbac.authorization.k8s.io", "v1", "clusterroles", namespaced=False, kind="ClusterRole"
)
