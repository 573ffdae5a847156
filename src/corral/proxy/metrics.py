"""Prometheus series of the cluster proxy: answers by cluster and code, and latency.

``corral_proxy_requests_total{cluster,code}`` counts every answer the proxy
gave, refusals included (code 101 for an upgrade relayed);
``corral_proxy_request_duration_seconds{cluster}`` is the time until the
cluster's answer headers came back (what the proxy adds plus the cluster's
own time; a watch's length is not in it). Labels hold cluster ids and codes
only — never a user, path or header.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ProxyMetrics:
    """The proxy's series, registered in ``registry`` (the server's /metrics)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._requests = Counter(
            "corral_proxy_requests",
            "Requests answered by the cluster proxy, by cluster and HTTP code.",
            ["cluster", "code"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "corral_proxy_request_duration_seconds",
            "Seconds until the cluster's answer headers arrived, by cluster.",
            ["cluster"],
            buckets=_BUCKETS,
            registry=self.registry,
        )

    def answered(self, cluster: str, code: int) -> None:
        self._requests.labels(cluster, str(code)).inc()

    def latency(self, cluster: str, seconds: float) -> None:
        self._latency.labels(cluster).observe(seconds)
