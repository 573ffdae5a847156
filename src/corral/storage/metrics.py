"""Prometheus metrics of the storage layer.

The metric objects live at module level, registered once in the default
registry, so that several backends in one process (tests, a server that opens
a second datastore to migrate) share them instead of failing on duplicate
registration. Drivers fetch the labelled children once (``WRITE_RESULTS``) so
that counting a write costs one dictionary lookup and one increment.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from corral.storage.errors import KeyExistsError, KeyNotFoundError, RevisionMismatchError

WRITES = Counter(
    "corral_storage_writes",
    "Storage writes by verb and outcome.",
    ["verb", "result"],
)
COMMIT_BATCH_SIZE = Histogram(
    "corral_storage_commit_batch_size",
    "Writes committed together in one transaction (group commit).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096),
)
COMMIT_SECONDS = Histogram(
    "corral_storage_commit_seconds",
    "Time to commit one batch of writes, durably.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
WATCHERS = Gauge("corral_storage_watchers", "Watchers currently subscribed to storage events.")
WATCH_OVERFLOWS = Counter(
    "corral_storage_watch_overflows",
    "Watchers cut off because they fell too far behind.",
)

VERBS = ("create", "update", "delete")
#: Outcomes of a write, as the ``result`` label.
RESULTS = ("ok", "exists", "not_found", "conflict", "error")

#: (verb, result) -> labelled counter child, resolved once.
WRITE_RESULTS = {(v, r): WRITES.labels(verb=v, result=r) for v in VERBS for r in RESULTS}


def result_label(outcome: BaseException | None) -> str:
    """The ``result`` label of a write that ended with ``outcome`` (None: success)."""
    if outcome is None:
        return "ok"
    if isinstance(outcome, KeyExistsError):
        return "exists"
    if isinstance(outcome, KeyNotFoundError):
        return "not_found"
    if isinstance(outcome, RevisionMismatchError):
        return "conflict"
    return "error"
