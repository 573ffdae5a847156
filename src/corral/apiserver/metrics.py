"""HTTP metrics and the ``/metrics`` endpoint (Prometheus text format).

Each app has its own `CollectorRegistry` (so several servers can live in one
test process) holding the process, platform and GC collectors and:

- ``corral_http_requests_total{method,path_class,code}``: requests answered;
- ``corral_http_request_duration_seconds{method,path_class}``: time from the
  request reaching the app to its response being handed to the server;
- ``corral_http_long_running_requests{path_class,transport}``: long-running
  requests (watches) open now, over ``http`` (chunked) or ``websocket``;
  they are counted in ``corral_http_requests_total`` when they start (code
  200, or 101 for a WebSocket), with a latency of 0;
- ``corral_build_info{version}``: always 1.

Label values are bounded: ``path_class`` is the name of the matched route
(``readyz``, ``metrics``… or ``other``), never the raw path, and ``method`` is
one of the standard methods or ``OTHER``; so a client cannot grow the
series without bound.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

from corral import __version__
from corral.apiserver.asgi import Request, Response
from corral.machinery.status import MethodNotAllowedError

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class HTTPMetrics:
    """Request counters and latencies, and their exposition."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        process_collector.ProcessCollector(registry=self.registry)
        platform_collector.PlatformCollector(registry=self.registry)
        gc_collector.GCCollector(registry=self.registry)
        self._requests = Counter(
            "corral_http_requests",
            "HTTP requests answered, by method, path class and status code.",
            ["method", "path_class", "code"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "corral_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and path class.",
            ["method", "path_class"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self._long_running = Gauge(
            "corral_http_long_running_requests",
            "Long-running requests (watches) open now, by path class and transport.",
            ["path_class", "transport"],
            registry=self.registry,
        )
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        build = Gauge(
            "corral_build_info",
            "Always 1; labelled with the version.",
            ["version"],
            registry=self.registry,
        )
        build.labels(__version__).set(1)

    def observe(self, method: str, path_class: str, code: int, seconds: float) -> None:
        """Record one answered request."""
        method = method if method in _METHODS else "OTHER"
        key = (method, path_class, code)
        series = self._series.get(key)
        if series is None:
            # Label sets are bounded (methods x routes x codes), so is this cache.
            series = self._series[key] = (
                self._requests.labels(method, path_class, str(code)),
                self._latency.labels(method, path_class),
            )
        series[0].inc()
        series[1].observe(seconds)

    @contextlib.contextmanager
    def long_running(self, path_class: str, transport: str) -> Iterator[None]:
        """Count a long-running request (``transport``: http or websocket) while it is open."""
        gauge = self._long_running.labels(path_class, transport)
        gauge.inc()
        try:
            yield
        finally:
            gauge.dec()

    async def handle(self, request: Request) -> Response:
        """``GET /metrics``."""
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowedError(f"{request.method} is not allowed on {request.path}")
        return Response(200, generate_latest(self.registry), CONTENT_TYPE_LATEST.encode())
