"""The cluster proxy: ``/k8s/clusters/{id}/…`` into imported clusters, as the Corral user.

`ClusterProxy` gives the route Corral's HTTPS app serves; it reaches a
cluster through an `AccessSource` (``corral.client.dialing``: the agent's
tunnel, or directly) and decides who may use which cluster through the
``may_use`` callback it is given. docs/proxy.md tells the rules.
"""

from __future__ import annotations

from corral.proxy.admins import cluster_admins_may_use
from corral.proxy.errors import ClusterNotFound, ImpersonationMissing, ProxyError
from corral.proxy.handler import LOCAL_CLUSTER, ClusterProxy
from corral.proxy.metrics import ProxyMetrics
from corral.proxy.secretaccess import SecretAccessSource

__all__ = [
    "LOCAL_CLUSTER",
    "ClusterNotFound",
    "ClusterProxy",
    "ImpersonationMissing",
    "ProxyError",
    "ProxyMetrics",
    "SecretAccessSource",
    "cluster_admins_may_use",
]
