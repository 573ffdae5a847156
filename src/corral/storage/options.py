"""Tuning knobs every storage driver honours, with production defaults.

Tests pass short timings (fast TTL sweeps, tiny compaction windows); the
server builds these from its settings.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StorageOptions:
    """How a backend keeps history, expires leases and bounds its watchers."""

    #: Compaction keeps at least this many of the newest revisions…
    compact_keep_revisions: int = 10_000
    #: …and every revision written within this many seconds.
    compact_keep_seconds: float = 300.0
    #: How often the background compactor runs (seconds; 0 disables it).
    compact_interval: float = 60.0
    #: How often expired TTL leases are looked for (seconds).
    ttl_sweep_interval: float = 1.0
    #: Events buffered per watcher before it is cut off with WatchOverflowError.
    watch_buffer: int = 10_000
    #: Most writes committed together in one transaction (group commit).
    max_batch: int = 1024
