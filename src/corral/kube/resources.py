"""The resources the built-in controllers read and write, named once.

Each is a `ResourceRef` with its kind, so informers fill ``apiVersion`` and
``kind`` into listed items and controllers never spell a path by hand.
"""

from __future__ import annotations

from corral.client import ResourceRef

NAMESPACES = ResourceRef("", "v1", "namespaces", namespaced=False, kind="Namespace")
NODES = ResourceRef("", "v1", "nodes", namespaced=False, kind="Node")
PODS = ResourceRef("", "v1", "pods", kind="Pod")
EVENTS = ResourceRef("", "v1", "events", kind="Event")
SERVICE_ACCOUNTS = ResourceRef("", "v1", "serviceaccounts", kind="ServiceAccount")
CONFIG_MAPS = ResourceRef("", "v1", "configmaps", kind="ConfigMap")
SECRETS = ResourceRef("", "v1", "secrets", kind="Secret")
SERVICES = ResourceRef("", "v1", "services", kind="Service")
ENDPOINTS = ResourceRef("", "v1", "endpoints", kind="Endpoints")
PERSISTENT_VOLUME_CLAIMS = ResourceRef(
    "", "v1", "persistentvolumeclaims", kind="PersistentVolumeClaim"
)
DEPLOYMENTS = ResourceRef("apps", "v1", "deployments", kind="Deployment")
REPLICA_SETS = ResourceRef("apps", "v1", "replicasets", kind="ReplicaSet")
STATEFUL_SETS = ResourceRef("apps", "v1", "statefulsets", kind="StatefulSet")
DAEMON_SETS = ResourceRef("apps", "v1", "daemonsets", kind="DaemonSet")
CONTROLLER_REVISIONS = ResourceRef("apps", "v1", "controllerrevisions", kind="ControllerRevision")
JOBS = ResourceRef("batch", "v1", "jobs", kind="Job")
CRON_JOBS = ResourceRef("batch", "v1", "cronjobs", kind="CronJob")
LEASES = ResourceRef("coordination.k8s.io", "v1", "leases", kind="Lease")
CLUSTER_ROLES = ResourceRef(
    "rbac.authorization.k8s.io", "v1", "clusterroles", namespaced=False, kind="ClusterRole"
)
