"""What one DELETE does to one object: remove it now, mark it, or leave it be.

A pure function of the stored object, the kind and the `DeleteOptions`,
following Kubernetes' ``rest.BeforeDelete`` and the generic store's
``Delete``/``updateForGracefulDeletionAndFinalizers``:

- **Graceful deletion (pods).** A pod bound to a node (``spec.nodeName``),
  not yet Succeeded/Failed, deleted with a grace period > 0 (default: its
  ``spec.terminationGracePeriodSeconds``, 30 if unset) is not removed: it
  gets ``deletionTimestamp = now + grace`` and
  ``deletionGracePeriodSeconds = grace`` (and ``generation`` + 1), and the
  node agent deletes it with ``gracePeriodSeconds=0`` once its containers
  have stopped. An unbound or finished pod gets grace 0. A later delete may
  shorten the grace period (never into the past; a non-zero one that would
  is 1 s) but never lengthen it: a delete that does not shorten it changes
  nothing, not even the finalizers. A pod whose grace reaches 0 is removed
  (unless finalizers hold it). Other kinds have no grace period.
- **Finalizers.** The propagation policy adds or removes ``orphan`` /
  ``foregroundDeletion`` (`gc_finalizers`). An object with finalizers left
  is marked: ``deletionTimestamp`` (now, unless an earlier one is set),
  ``deletionGracePeriodSeconds: 0``, ``generation`` + 1 the first time; it
  goes once an update empties them (`update`).
- **Namespaces** wait for ``spec.finalizers`` too, and turn ``Terminating``.
- Otherwise the object is removed at once.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta
from typing import Any

from corral.apiserver.registry import ResourceType
from corral.apiserver.store.deleteoptions import DeleteOptions, gc_finalizers

#: A pod's grace period when neither the delete nor the pod names one.
DEFAULT_POD_GRACE = 30
_FINISHED_PHASES = frozenset({"Succeeded", "Failed"})


class Outcome(enum.Enum):
    """What the store does after `plan_delete`."""

    #: Remove the key now.
    REMOVE = "remove"
    #: Write the changed object; it stays (graceful deletion or finalizers).
    MARK = "mark"
    #: Nothing changes; answer with the object as it is.
    KEEP = "keep"


def _format(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def is_namespace(rt: ResourceType) -> bool:
    return rt.group == "" and rt.resource == "namespaces"


def is_pod(rt: ResourceType) -> bool:
    return rt.group == "" and rt.resource == "pods"


def pod_grace_period(pod: dict[str, Any], requested: int | None) -> int:
    """``podStrategy.CheckGracefulDelete``: the grace period a delete of ``pod`` gets."""
    spec = pod.get("spec") or {}
    if requested is not None:
        period = requested
    else:
        default = spec.get("terminationGracePeriodSeconds")
        period = default if isinstance(default, int) else DEFAULT_POD_GRACE
    if not spec.get("nodeName"):
        period = 0
    if (pod.get("status") or {}).get("phase") in _FINISHED_PHASES:
        period = 0
    return 1 if period < 0 else period


def _bump_generation(meta: dict[str, Any]) -> None:
    generation = meta.get("generation")
    if isinstance(generation, int) and generation > 0:
        meta["generation"] = generation + 1


def _graceful(obj: dict[str, Any], options: DeleteOptions, now: datetime) -> bool | None:
    """``BeforeDelete`` for a pod: True if (re)marked gracefully, False if not
    graceful, None if a graceful deletion is pending and this delete changes nothing."""
    meta = obj["metadata"]
    current = meta.get("deletionGracePeriodSeconds")
    if isinstance(current, int) and current < 0:
        current = meta["deletionGracePeriodSeconds"] = 1
    requested = options.grace_period_seconds
    stamp = _parse(meta.get("deletionTimestamp"))
    if meta.get("deletionTimestamp"):
        if not current or stamp is None:
            return False
        if requested is None or requested >= current:
            return None
        shortened = stamp - timedelta(seconds=current) + timedelta(seconds=requested)
        period = requested
        if shortened < now:
            shortened = now
            if period != 0:
                period = 1
        meta["deletionTimestamp"] = _format(shortened)
        meta["deletionGracePeriodSeconds"] = period
        return True
    period = pod_grace_period(obj, requested)
    meta["deletionTimestamp"] = _format(now + timedelta(seconds=period))
    meta["deletionGracePeriodSeconds"] = period
    _bump_generation(meta)
    return True


def _mark_deleting(rt: ResourceType, obj: dict[str, Any], now: datetime) -> None:
    """``markAsDeleting``: deletionTimestamp now (or an earlier one kept), grace 0."""
    meta = obj["metadata"]
    existing = _parse(meta.get("deletionTimestamp"))
    if not meta.get("deletionTimestamp"):
        _bump_generation(meta)
    if existing is None or existing > now:
        meta["deletionTimestamp"] = _format(now)
    meta["deletionGracePeriodSeconds"] = 0
    if is_namespace(rt):
        obj.setdefault("status", {})["phase"] = "Terminating"


def plan_delete(
    rt: ResourceType, obj: dict[str, Any], options: DeleteOptions, now: datetime | None = None
) -> Outcome:
    """Decide what deleting ``obj`` does, changing ``obj`` to what should be stored."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    meta = obj["metadata"]
    graceful = _graceful(obj, options, now) if is_pod(rt) else False
    if graceful is None:
        return Outcome.KEEP
    finalizers = list(meta.get("finalizers") or [])
    wanted = gc_finalizers(finalizers, options)
    if wanted is not None:
        if wanted:
            meta["finalizers"] = wanted
        else:
            meta.pop("finalizers", None)
    pending = bool(meta.get("finalizers"))
    if is_namespace(rt):
        pending = pending or bool((obj.get("spec") or {}).get("finalizers"))
    if not graceful:
        if not pending:
            return Outcome.REMOVE
        _mark_deleting(rt, obj, now)
        return Outcome.MARK
    if pending or meta["deletionGracePeriodSeconds"] > 0:
        return Outcome.MARK
    return Outcome.REMOVE
