"""`HealthOptions`: how often the health controllers look and write.

The defaults make an idle cluster cheap: one ``/readyz`` probe every 15 s
(backing off to one a minute while the API fails),
``/version`` every 10 minutes (and at every (re)connection), no status write
unless something changed and never more than one per cluster every 5 s, and
a check of the downstream admin bindings every 5 minutes besides the
changes that call for one. Tests shorten them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HealthOptions:
    """Intervals (seconds) and bounds of the per-cluster health controllers."""

    #: At most one status write (and one event flush) per cluster this often.
    write_interval: float = 5.0
    #: ``GET /readyz`` on the downstream API this often.
    probe_interval: float = 15.0
    #: While the API fails, the interval doubles after each failed probe, up to this.
    failing_probe_interval: float = 60.0
    #: A probe that takes longer than this failed.
    probe_timeout: float = 10.0
    #: ``GET /version`` this often (besides each start of a cluster's watch).
    version_interval: float = 600.0
    #: Mirrored warning events kept per cluster.
    event_limit: int = 50
    #: Re-check the downstream admin bindings this often even when nothing changed.
    binding_resync: float = 300.0
    #: Back-off between restarts of a cluster's watch after an error: from ... to.
    restart_min: float = 1.0
    restart_max: float = 60.0
