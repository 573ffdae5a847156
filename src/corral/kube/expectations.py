"""`Expectations`: what a controller is still waiting to see in its informer.

After a ReplicaSet asks for 50 pods, its pod informer shows them only as the
watch events arrive. A sync in between would count too few pods and create
50 more. Kubernetes' ``UIDTrackingControllerExpectations`` prevents it: the
controller records how many creations it expects and which pods it expects
to disappear; informer events lower the counts; until they reach zero (or
the record is older than five minutes, in case an event was lost) the
controller does not create or delete anything for that key. Deletions are
tracked by pod key, so a pod seen as terminating and then deleted counts
once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

#: How long an unmet expectation blocks a controller (Kubernetes' ExpectationsTimeout).
EXPECTATIONS_TIMEOUT = 5 * 60.0


@dataclass(slots=True)
class _Record:
    adds: int
    deletes: set[str] = field(default_factory=set)
    stamp: float = 0.0


class Expectations:
    """Pending creations (counted) and deletions (by object key), per controller key."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._records: dict[str, _Record] = {}
        self._now = now

    def satisfied(self, key: str) -> bool:
        """True when nothing is pending for ``key`` (or the record expired, or none exists)."""
        record = self._records.get(key)
        if record is None:
            return True
        if record.adds <= 0 and not record.deletes:
            return True
        return self._now() - record.stamp > EXPECTATIONS_TIMEOUT

    def expect_creations(self, key: str, count: int) -> None:
        self._records[key] = _Record(count, set(), self._now())

    def expect_deletions(self, key: str, object_keys: Iterable[str]) -> None:
        self._records[key] = _Record(0, set(object_keys), self._now())

    def creation_observed(self, key: str) -> None:
        record = self._records.get(key)
        if record is not None:
            record.adds -= 1

    def lower_creations(self, key: str, count: int) -> None:
        """Creations that were skipped or failed will never be observed."""
        record = self._records.get(key)
        if record is not None:
            record.adds -= count

    def deletion_observed(self, key: str, object_key: str) -> None:
        record = self._records.get(key)
        if record is not None:
            record.deletes.discard(object_key)

    def forget(self, key: str) -> None:
        self._records.pop(key, None)

    def pending(self, key: str) -> tuple[int, int]:
        """(creations, deletions) still expected for ``key``."""
        record = self._records.get(key)
        return (0, 0) if record is None else (max(record.adds, 0), len(record.deletes))
