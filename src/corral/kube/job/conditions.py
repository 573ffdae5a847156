"""Job conditions (``batch/v1`` JobCondition), as the Job controller sets them.

Job conditions carry ``lastProbeTime`` as well as ``lastTransitionTime``,
and Kubernetes replaces a condition whole whenever its status, reason or
message changes (``ensureJobConditionStatus``), so the generic
`corral.controller.set_condition` (metav1.Condition rules) does not fit.
Kubernetes 1.32 finishes a Job in two steps: ``SuccessCriteriaMet`` or
``FailureTarget`` first (pods may still be terminating, finalizers still
to be removed), then ``Complete`` or ``Failed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from corral.kube.podstatus import format_time

Obj = dict[str, Any]

COMPLETE = "Complete"
FAILED = "Failed"
SUCCESS_CRITERIA_MET = "SuccessCriteriaMet"
FAILURE_TARGET = "FailureTarget"
SUSPENDED = "Suspended"

COMPLETIONS_REACHED = "CompletionsReached"
COMPLETIONS_REACHED_MESSAGE = "Reached expected number of succeeded pods"
BACKOFF_LIMIT_EXCEEDED = "BackoffLimitExceeded"
BACKOFF_LIMIT_MESSAGE = "Job has reached the specified backoff limit"
DEADLINE_EXCEEDED = "DeadlineExceeded"
DEADLINE_MESSAGE = "Job was active longer than specified deadline"


def new_condition(type_: str, status: str, reason: str, message: str, now: datetime) -> Obj:
    stamp = format_time(now)
    return {
        "type": type_,
        "status": status,
        "lastProbeTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def find(job: Mapping[str, Any], type_: str) -> Obj | None:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            found: Obj = cond
            return found
    return None


def is_true(job: Mapping[str, Any], type_: str) -> bool:
    cond = find(job, type_)
    return cond is not None and cond.get("status") == "True"


def finished(job: Mapping[str, Any]) -> str | None:
    """``Complete`` or ``Failed`` when the Job has finished (``IsJobFinished``)."""
    for type_ in (COMPLETE, FAILED):
        if is_true(job, type_):
            return type_
    return None


def ensure(status: Obj, type_: str, value: str, reason: str, message: str, now: datetime) -> bool:
    """``ensureJobConditionStatus``: replace or add the condition; whether it changed.
    A False condition is never added, only an existing one switched."""
    conditions = status.setdefault("conditions", [])
    for i, cond in enumerate(conditions):
        if cond.get("type") == type_:
            if (cond.get("status"), cond.get("reason"), cond.get("message")) != (
                value,
                reason,
                message,
            ):
                conditions[i] = new_condition(type_, value, reason, message, now)
                return True
            return False
    if value != "False":
        conditions.append(new_condition(type_, value, reason, message, now))
        return True
    if not conditions:
        status.pop("conditions")
    return False
