"""Condition helpers on plain-dict objects (``status.conditions``).

Controllers report what they observed as Kubernetes conditions
(``metav1.Condition``): ``type``, ``status`` ("True", "False" or "Unknown"),
``reason``, ``message``, ``lastTransitionTime`` and optionally
``observedGeneration``. These helpers decide how a condition is written, as
apimachinery's ``meta.SetStatusCondition`` does:

- ``lastTransitionTime`` changes only when ``status`` changes (a new reason
  or message is not a transition), so a client can tell how long a state has
  held;
- an existing condition is updated in place (list order is kept), a new one
  is appended;
- ``observedGeneration`` is the ``metadata.generation`` the controller acted
  on; ``None`` leaves the field out (and removes a stale one);
- each setter says whether it changed the object, so a controller writes
  status only when something changed (no write storms, no watch noise).

Times are RFC 3339 UTC with second precision, as metav1.Time serializes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from corral.controller.errors import ConditionError

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"
_STATUSES = frozenset({TRUE, FALSE, UNKNOWN})


def format_time(moment: datetime) -> str:
    """``2026-11-24T01:02:03Z``: a metav1.Time as Kubernetes writes it."""
    if moment.tzinfo is None:
        raise ConditionError("condition times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _conditions(obj: dict[str, Any], create: bool) -> list[dict[str, Any]] | None:
    status = obj.get("status")
    if status is None:
        if not create:
            return None
        status = obj["status"] = {}
    if not isinstance(status, dict):
        raise ConditionError("the object's status is not a mapping")
    conditions = status.get("conditions")
    if conditions is None:
        if not create:
            return None
        conditions = status["conditions"] = []
    if not isinstance(conditions, list):
        raise ConditionError("status.conditions is not a list")
    return conditions


def get_condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    """The condition of `type_`, or None."""
    for condition in _conditions(obj, create=False) or ():
        if isinstance(condition, dict) and condition.get("type") == type_:
            return condition
    return None


def is_true(obj: dict[str, Any], type_: str) -> bool:
    """Whether the condition of `type_` exists with status "True"."""
    condition = get_condition(obj, type_)
    return condition is not None and condition.get("status") == TRUE


def is_false(obj: dict[str, Any], type_: str) -> bool:
    """Whether the condition of `type_` exists with status "False"."""
    condition = get_condition(obj, type_)
    return condition is not None and condition.get("status") == FALSE


def set_condition(
    obj: dict[str, Any],
    type_: str,
    status: str | bool,
    reason: str,
    message: str = "",
    observed_generation: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Set the condition of `type_` on `obj`; True when anything changed.

    `status` is "True", "False", "Unknown" or a bool. `reason` is required
    (CamelCase, as Kubernetes validates it). `now` defaults to the current UTC
    time and is used only when the status changes or the condition is new.
    """
    if isinstance(status, bool):
        status = TRUE if status else FALSE
    if status not in _STATUSES:
        raise ConditionError(f"condition status must be True, False or Unknown, not {status!r}")
    if not type_:
        raise ConditionError("a condition needs a type")
    if not reason:
        raise ConditionError(f"condition {type_} needs a reason")
    conditions = _conditions(obj, create=True)
    assert conditions is not None
    wanted: dict[str, Any] = {"type": type_, "status": status}
    if observed_generation is not None:
        wanted["observedGeneration"] = observed_generation
    wanted["reason"] = reason
    wanted["message"] = message
    existing = get_condition(obj, type_)
    if existing is None:
        wanted["lastTransitionTime"] = format_time(now or datetime.now(UTC))
        conditions.append(wanted)
        return True
    changed = False
    if existing.get("status") != status or "lastTransitionTime" not in existing:
        existing["lastTransitionTime"] = format_time(now or datetime.now(UTC))
        changed = True
    for field in ("status", "reason", "message", "observedGeneration"):
        if field not in wanted:
            if field in existing:
                del existing[field]
                changed = True
        elif existing.get(field) != wanted[field]:
            existing[field] = wanted[field]
            changed = True
    return changed


def remove_condition(obj: dict[str, Any], type_: str) -> bool:
    """Remove the condition of `type_`; True when there was one."""
    conditions = _conditions(obj, create=False)
    if not conditions:
        return False
    kept = [c for c in conditions if not (isinstance(c, dict) and c.get("type") == type_)]
    if len(kept) == len(conditions):
        return False
    conditions[:] = kept
    return True
