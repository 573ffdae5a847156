"""Taints and tolerations: which taint a pod tolerates, and for how long.

Both the scheduler (a pod may not land on a node with a NoSchedule or
NoExecute taint it does not tolerate) and node lifecycle's taint-based
eviction (a pod must leave a NoExecute-tainted node, at once or after its
``tolerationSeconds``) ask the same questions, answered once here with
Kubernetes' rules (``v1.Toleration.ToleratesTaint``):

- a toleration with an effect matches only taints of that effect;
- an empty key with operator ``Exists`` matches every taint;
- ``Exists`` ignores the value, ``Equal`` (the default) compares it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

NO_SCHEDULE = "NoSchedule"
NO_EXECUTE = "NoExecute"
PREFER_NO_SCHEDULE = "PreferNoSchedule"

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"

Taint = Mapping[str, Any]
Toleration = Mapping[str, Any]


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    """Whether ``toleration`` tolerates ``taint``."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != (taint.get("key") or ""):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return bool((toleration.get("value") or "") == (taint.get("value") or ""))
    return False


def tolerated(taint: Taint, tolerations: Iterable[Toleration]) -> bool:
    return any(tolerates(t, taint) for t in tolerations)


def first_untolerated(
    taints: Iterable[Taint], tolerations: Sequence[Toleration], effects: Iterable[str]
) -> Taint | None:
    """The first taint with one of ``effects`` that no toleration tolerates, or None."""
    wanted = set(effects)
    for taint in taints:
        if taint.get("effect") in wanted and not tolerated(taint, tolerations):
            return taint
    return None


def toleration_seconds(taint: Taint, tolerations: Sequence[Toleration]) -> float | None:
    """How long a pod may stay on a node with this NoExecute ``taint``.

    0 when nothing tolerates it, None when it is tolerated forever (a matching
    toleration without ``tolerationSeconds``... unless another matching one
    sets a limit: as in Kubernetes, the smallest limit among the matching
    tolerations wins), else the smallest ``tolerationSeconds`` (negative = 0).
    """
    matching = [t for t in tolerations if tolerates(t, taint)]
    if not matching:
        return 0.0
    limits = [t.get("tolerationSeconds") for t in matching]
    numbers = [float(s) for s in limits if isinstance(s, int | float) and not isinstance(s, bool)]
    if not numbers:
        return None
    return max(0.0, min(numbers))


def node_taints(node: Mapping[str, Any]) -> list[dict[str, Any]]:
    spec = node.get("spec") or {}
    taints = spec.get("taints") or []
    return [t for t in taints if isinstance(t, dict)]


def pod_tolerations(pod: Mapping[str, Any]) -> list[dict[str, Any]]:
    spec = pod.get("spec") or {}
    tolerations = spec.get("tolerations") or []
    return [t for t in tolerations if isinstance(t, dict)]
