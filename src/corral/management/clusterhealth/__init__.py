"""Per-cluster health controllers: what each imported cluster's API says, mirrored home.

For every Cluster whose agent is connected, `ClusterHealth` keeps a
`ClusterWatch` (informers on the downstream nodes, pods and warning
events; ``/readyz`` and ``/version`` probes) and writes the Cluster's
``Ready`` condition, ``state``, ``version``, ``nodeCount`` and the
``capacity``/``allocatable``/``requested`` sums into its status, rate-limited
and only when something changed; recent downstream warnings become Events in
the cluster's namespace; and the downstream ClusterRoleBindings
``corral-admin-<user>`` give cluster-admin to the global admins and the
cluster's creator, and to nobody else (issue 9, parts 6 and 8).
`ElectedClusterHealth` runs it on the elected replica. docs/clusters-health.md
tells the rules.

Modules: `totals` (quantity sums), `status` (what the status should say),
`statuswriter` (compare-and-swap status writes), `eventmirror`, `bindings`,
`downstream` (the client of a cluster), `watch` (one cluster), `manager`
(all clusters), `elected` (leader election), `options`, `kinds`.

Errors: none of its own. A downstream failure is reported on the Cluster
(``Ready`` False with the message) and retried; management API failures are
``corral.machinery.status.StatusError``/``corral.client.ClientError``s,
logged and retried at the next pass.
"""

from __future__ import annotations

from corral.management.clusterhealth.elected import ElectedClusterHealth
from corral.management.clusterhealth.manager import ClusterHealth
from corral.management.clusterhealth.options import HealthOptions
from corral.management.clusterhealth.status import Observation
from corral.management.clusterhealth.watch import ClusterWatch

__all__ = ["ClusterHealth", "ClusterWatch", "ElectedClusterHealth", "HealthOptions", "Observation"]
