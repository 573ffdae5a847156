"""Prometheus metrics of tunnel sessions.

One `TunnelMetrics` per registry (the server passes the registry its
``/metrics`` endpoint exposes; a process without one gets a private registry,
so tests and several servers in one process never collide). Series:

- ``corral_tunnel_sessions{role}``: sessions running now;
- ``corral_tunnel_streams{role}``: streams open now (connected, not yet closed);
- ``corral_tunnel_streams_opened_total{role,initiator}``: streams opened,
  ``initiator`` = ``local`` (we asked) or ``peer`` (we accepted);
- ``corral_tunnel_bytes_total{role,direction}``: stream payload bytes
  ``sent`` / ``received``;
- ``corral_tunnel_dial_refusals_total{role}``: dials this side refused.

``role`` is ``server`` or ``client``; labels are bounded (no cluster ids,
no addresses).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass(frozen=True, slots=True)
class RoleMetrics:
    """The series of one role, with labels resolved once (they sit on hot paths)."""

    sessions: Gauge
    streams: Gauge
    opened_local: Counter
    opened_peer: Counter
    bytes_sent: Counter
    bytes_received: Counter
    refusals: Counter


class TunnelMetrics:
    """The tunnel's metric families in one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._sessions = Gauge(
            "corral_tunnel_sessions",
            "Tunnel sessions running now, by role.",
            ["role"],
            registry=self.registry,
        )
        self._streams = Gauge(
            "corral_tunnel_streams",
            "Tunnel streams open now, by role.",
            ["role"],
            registry=self.registry,
        )
        self._opened = Counter(
            "corral_tunnel_streams_opened",
            "Tunnel streams opened, by role and by who asked for them (local or peer).",
            ["role", "initiator"],
            registry=self.registry,
        )
        self._bytes = Counter(
            "corral_tunnel_bytes",
            "Stream payload bytes carried by tunnels, by role and direction (sent or received).",
            ["role", "direction"],
            registry=self.registry,
        )
        self._refusals = Counter(
            "corral_tunnel_dial_refusals",
            "Dials requested by the peer that this side refused or failed, by role.",
            ["role"],
            registry=self.registry,
        )
        self._roles: dict[str, RoleMetrics] = {}

    def role(self, role: str) -> RoleMetrics:
        """The series of ``role``, created on first use."""
        found = self._roles.get(role)
        if found is None:
            found = RoleMetrics(
                sessions=self._sessions.labels(role),
                streams=self._streams.labels(role),
                opened_local=self._opened.labels(role, "local"),
                opened_peer=self._opened.labels(role, "peer"),
                bytes_sent=self._bytes.labels(role, "sent"),
                bytes_received=self._bytes.labels(role, "received"),
                refusals=self._refusals.labels(role),
            )
            self._roles[role] = found
        return found


_default: TunnelMetrics | None = None
_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, TunnelMetrics] = (
    weakref.WeakKeyDictionary()
)


def default_metrics() -> TunnelMetrics:
    """The process-wide metrics used by sessions given none (a private registry)."""
    global _default
    if _default is None:
        _default = TunnelMetrics()
    return _default


def metrics_for(registry: CollectorRegistry) -> TunnelMetrics:
    """The one `TunnelMetrics` of ``registry`` (a registry refuses the same series twice).

    What the server passes to its sessions: ``metrics_for(app_metrics.registry)``,
    so the series appear on its ``/metrics``.
    """
    found = _by_registry.get(registry)
    if found is None:
        found = _by_registry[registry] = TunnelMetrics(registry)
    return found
