"""The back-off between a Job's pod failures (``backoffRecord``).

After a pod fails, the next one is created only ``10 s * 2^(n-1)`` (capped
at 6 min) after the *n*-th consecutive failure; a success resets the count.
The record lives in the controller (per Job key, lost on restart as in
Kubernetes) and is updated only once the new finished pods are counted in
the Job's status. Times are the pods' own finish times on the wall clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from corral.kube.job.pods import finished_time

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class BackoffRecord:
    failures: int = 0
    """Failures since the last success."""
    last_failure: datetime | None = None


def _ordered(pods: Sequence[Obj]) -> list[datetime]:
    return sorted(t for t in (finished_time(p) for p in pods) if t is not None)


def next_record(
    old: BackoffRecord, succeeded: Sequence[Obj], failed: Sequence[Obj]
) -> BackoffRecord:
    """The record after counting newly finished pods (``newBackoffRecord``)."""
    failures = _ordered(failed)
    if not succeeded:
        if not failures:
            return old
        return BackoffRecord(old.failures + len(failed), failures[-1])
    successes = _ordered(succeeded)
    last_success = successes[-1] if successes else None
    later = [t for t in failures if last_success is None or t > last_success]
    return BackoffRecord(len(later), later[-1] if later else None)


def remaining(record: BackoffRecord, now: datetime, base: float, cap: float) -> float:
    """Seconds to wait before creating a replacement pod (0: go ahead)."""
    if record.failures == 0 or record.last_failure is None:
        return 0.0
    delay = base
    for _ in range(1, record.failures):
        delay *= 2
        if delay >= cap:
            delay = cap
            break
    elapsed = (now - record.last_failure).total_seconds()
    return 0.0 if delay < elapsed else delay - elapsed
