"""Pod readiness and availability, as Kubernetes' ``podutil`` decides them.

The ReplicaSet, Deployment (and later StatefulSet, DaemonSet, endpoints)
controllers all count pods the same way: *active* (not finished, not being
deleted), *ready* (condition ``Ready`` is ``True``) and *available* (ready
for at least ``minReadySeconds``). One definition here keeps their numbers
consistent with each other and with what ``kubectl`` shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

Obj = Mapping[str, Any]

FINISHED_PHASES = frozenset({"Succeeded", "Failed"})


def parse_time(text: object) -> datetime | None:
    """An RFC 3339 timestamp (``...Z``, optional fraction) as an aware datetime, or None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def format_time(moment: datetime) -> str:
    """RFC 3339 in seconds, UTC (``metav1.Time``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_pod_active(pod: Obj) -> bool:
    """Not Succeeded/Failed and not being deleted (``controller.IsPodActive``)."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in FINISHED_PHASES and not (pod.get("metadata") or {}).get("deletionTimestamp")


def ready_condition(pod: Obj) -> Mapping[str, Any] | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") == "Ready":
            return cond
    return None


def is_pod_ready(pod: Obj) -> bool:
    """The ``Ready`` condition is ``True``."""
    cond = ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def ready_since(pod: Obj) -> datetime | None:
    """When the pod last became ready (None if not ready or unknown)."""
    cond = ready_condition(pod)
    if cond is None or cond.get("status") != "True":
        return None
    return parse_time(cond.get("lastTransitionTime"))


def is_pod_available(pod: Obj, min_ready_seconds: int, now: datetime) -> bool:
    """Ready, and for more than ``min_ready_seconds`` (``podutil.IsPodAvailable``)."""
    if not is_pod_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and since.timestamp() + min_ready_seconds < now.timestamp()
