"""`SimulatedNodeOptions`: the timings of simulated nodes, and where tests set them.

Real kubelets renew their Lease every 10 s and report node status about
once a minute; pods take a moment to start. Those defaults make a cluster
feel real but make tests slow, so every interval is an option. ``corral
server --simulate-nodes N`` builds its options from hidden environment
variables (`options_from_env`) so the server tests can shorten them without
a public flag:

- ``CORRAL_SIM_LEASE_RENEW`` (s), ``CORRAL_SIM_STATUS_INTERVAL`` (s),
- ``CORRAL_SIM_POD_START_DELAY`` (s), ``CORRAL_SIM_LOG_INTERVAL`` (s),
- ``CORRAL_SIM_RESTART_BACKOFF`` (s, the first crash-loop back-off).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace


@dataclass(frozen=True, slots=True)
class SimulatedNodeOptions:
    """How simulated nodes behave (Kubernetes' kubelet defaults)."""

    lease_renew_interval: float = 10.0
    """How often each node renews its Lease in ``kube-node-lease``."""
    lease_duration_seconds: int = 40
    """``spec.leaseDurationSeconds`` of each Lease."""
    status_interval: float = 60.0
    """How often each node reports its status (conditions' lastHeartbeatTime)."""
    pod_start_delay: float = 1.0
    """Seconds between a pod reaching its node and its containers running."""
    log_interval: float = 1.0
    """Seconds between two synthetic log lines of a running container."""
    restart_backoff: float = 10.0
    """First back-off before a crashed container restarts (doubles, at most 300 s)."""
    max_restart_backoff: float = 300.0
    workers: int = 4
    """Concurrent pod syncs (status writes) across all simulated nodes."""


_ENV = {
    "CORRAL_SIM_LEASE_RENEW": "lease_renew_interval",
    "CORRAL_SIM_STATUS_INTERVAL": "status_interval",
    "CORRAL_SIM_POD_START_DELAY": "pod_start_delay",
    "CORRAL_SIM_LOG_INTERVAL": "log_interval",
    "CORRAL_SIM_RESTART_BACKOFF": "restart_backoff",
}


def options_from_env(environ: Mapping[str, str] | None = None) -> SimulatedNodeOptions:
    """The defaults, with any interval the hidden ``CORRAL_SIM_*`` variables set."""
    env = os.environ if environ is None else environ
    names = {f.name for f in fields(SimulatedNodeOptions)}
    changes: dict[str, float] = {}
    for var, name in _ENV.items():
        text = env.get(var, "").strip()
        if not text or name not in names:
            continue
        try:
            value = float(text)
        except ValueError:
            continue
        if value >= 0 and (value > 0 or name == "pod_start_delay"):
            changes[name] = value
    return replace(SimulatedNodeOptions(), **changes)  # type: ignore[arg-type]
