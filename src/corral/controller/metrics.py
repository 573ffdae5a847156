"""Prometheus metrics of the work queues, labelled by queue name.

The metric objects live at module level and are registered once in the
default registry, however many queues a process creates (one per controller,
several per test), so no queue ever fails on duplicate registration. Queues
with the same name share their series.

The series follow client-go's workqueue metrics, prefixed ``corral_``:

- ``corral_workqueue_depth{name}``: keys waiting to be handed out;
- ``corral_workqueue_adds_total{name}``: keys accepted by `add` (a key already
  queued is not counted again);
- ``corral_workqueue_retries_total{name}``: delayed adds (`add_after`,
  `add_rate_limited`), as client-go counts them;
- ``corral_workqueue_rejected_total{name}``: new keys refused because the queue
  was at its bound (Corral's own; client-go queues are unbounded);
- ``corral_workqueue_queue_duration_seconds{name}``: time from add to get;
- ``corral_workqueue_work_duration_seconds{name}``: time from get to done;
- ``corral_workqueue_unfinished_work_seconds{name}``: summed age of the keys
  being processed now, and ``corral_workqueue_longest_running_processor_seconds{name}``:
  the oldest of them. These two are computed at scrape time from the live
  queues (client-go refreshes them on a ticker), so they are exact and cost
  nothing between scrapes.

A queue without a name records nothing (`NO_METRICS`), as in client-go.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from typing import Protocol

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

_BUCKETS = (1e-5, 1e-4, 1e-3, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0)

DEPTH = Gauge("corral_workqueue_depth", "Keys waiting in a work queue.", ["name"])
ADDS = Counter("corral_workqueue_adds", "Keys added to a work queue.", ["name"])
RETRIES = Counter("corral_workqueue_retries", "Delayed (retried) adds to a work queue.", ["name"])
REJECTED = Counter(
    "corral_workqueue_rejected",
    "New keys refused because the work queue was at its bound.",
    ["name"],
)
QUEUE_DURATION = Histogram(
    "corral_workqueue_queue_duration_seconds",
    "Time a key waits in a work queue before a worker gets it.",
    ["name"],
    buckets=_BUCKETS,
)
WORK_DURATION = Histogram(
    "corral_workqueue_work_duration_seconds",
    "Time a worker takes to process a key (get to done).",
    ["name"],
    buckets=_BUCKETS,
)


class ProcessingSource(Protocol):
    """A queue as the scrape-time collector sees it."""

    @property
    def name(self) -> str: ...

    def processing_ages(self) -> Iterable[float]:
        """Seconds each key being processed now has been processed for."""
        ...


class _UnfinishedWorkCollector(Collector):
    """Computes the two in-flight gauges from the live queues at scrape time."""

    def __init__(self) -> None:
        self._sources: weakref.WeakSet[ProcessingSource] = weakref.WeakSet()

    def track(self, source: ProcessingSource) -> None:
        self._sources.add(source)

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        total: dict[str, float] = {}
        longest: dict[str, float] = {}
        for source in list(self._sources):
            ages = list(source.processing_ages())
            total[source.name] = total.get(source.name, 0.0) + sum(ages)
            longest[source.name] = max([longest.get(source.name, 0.0), *ages])
        unfinished, oldest = self._families()
        for name in sorted(total):
            unfinished.add_metric([name], total[name])
            oldest.add_metric([name], longest[name])
        yield unfinished
        yield oldest

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "corral_workqueue_unfinished_work_seconds",
                "Summed time the keys being processed now have been in progress.",
                labels=["name"],
            ),
            GaugeMetricFamily(
                "corral_workqueue_longest_running_processor_seconds",
                "Time the longest-running key being processed has been in progress.",
                labels=["name"],
            ),
        )


UNFINISHED = _UnfinishedWorkCollector()
REGISTRY.register(UNFINISHED)


class QueueMetrics:
    """The labelled children of one queue name, resolved once."""

    def __init__(self, name: str) -> None:
        self.depth = DEPTH.labels(name)
        self.adds = ADDS.labels(name)
        self.retries = RETRIES.labels(name)
        self.rejected = REJECTED.labels(name)
        self.queue_duration = QUEUE_DURATION.labels(name)
        self.work_duration = WORK_DURATION.labels(name)

    def track(self, source: ProcessingSource) -> None:
        UNFINISHED.track(source)

    def added(self) -> None:
        self.adds.inc()

    def queued(self, delta: int) -> None:
        self.depth.inc(delta)

    def retried(self) -> None:
        self.retries.inc()

    def refused(self) -> None:
        self.rejected.inc()

    def got(self, waited: float) -> None:
        self.queue_duration.observe(max(0.0, waited))

    def finished(self, took: float) -> None:
        self.work_duration.observe(max(0.0, took))


class _NoMetrics(QueueMetrics):
    """Records nothing: for unnamed queues."""

    def __init__(self) -> None:
        pass

    def track(self, source: ProcessingSource) -> None:
        pass

    def added(self) -> None:
        pass

    def queued(self, delta: int) -> None:
        pass

    def retried(self) -> None:
        pass

    def refused(self) -> None:
        pass

    def got(self, waited: float) -> None:
        pass

    def finished(self, took: float) -> None:
        pass


NO_METRICS: QueueMetrics = _NoMetrics()


def metrics_for(name: str) -> QueueMetrics:
    """The metrics of a queue called `name` (`NO_METRICS` when it is empty)."""
    return QueueMetrics(name) if name else NO_METRICS
