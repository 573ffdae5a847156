"""The node agent (DESIGN §2, layer 4): where pods run — for now, simulated nodes.

A Corral cluster needs nodes for its pods to land on. Until the podman/runc
agent exists, `SimulatedNodes` registers nodes that keep their heartbeat
fresh and report the pods bound to them as running, so every workload
feature can be shown and measured at scale without running anything on the
host. Modules, smallest first:

- `options` (timings, and the hidden ``CORRAL_SIM_*`` variables), `refs`
  (resources and names), `timefmt`, `addresses` (node IPs, pod CIDRs, pod IPs);
- `runtime` (what a node "runs": container runs computed from times),
  `podstatus` (the status a kubelet would write), `logs` (synthetic logs);
- `nodeobject` (Node and Lease objects), `heartbeat` (registration, Lease,
  node status), `podsync` (one shared pod watch, a queue, status writes,
  deletion), `connector` (logs/exec for the API server);
- `simulated` (`SimulatedNodes`, which the CLI starts and stops).

docs/kube.md ("Simulated nodes") tells the behaviour.
"""

from corral.node.options import SimulatedNodeOptions
from corral.node.simulated import SimulatedNodes

__all__ = ["SimulatedNodeOptions", "SimulatedNodes"]
