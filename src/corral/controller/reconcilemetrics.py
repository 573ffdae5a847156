"""Prometheus metrics of reconciles, labelled by controller (and handler for errors).

Registered once per process at import, like the work queue's, so any number
of controllers (several per test run) never collide on registration.

- ``corral_controller_reconcile_errors_total{controller,handler}``: handler
  failures (each one is retried with back-off);
- ``corral_controller_reconcile_duration_seconds{controller}``: histogram of
  one key's pass through all its handlers.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

_BUCKETS = (1e-4, 1e-3, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0)

RECONCILE_ERRORS = Counter(
    "corral_controller_reconcile_errors",
    "Reconcile handler failures, by controller and handler.",
    ["controller", "handler"],
)
RECONCILE_DURATION = Histogram(
    "corral_controller_reconcile_duration_seconds",
    "Time to run all of a controller's handlers for one key.",
    ["controller"],
    buckets=_BUCKETS,
)
