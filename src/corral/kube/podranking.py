"""Which pods a controller deletes first when it scales down.

Kubernetes sorts the candidates with ``ActivePodsWithRanks`` and deletes
from the front. Corral keeps its order, simplified where noted:

1. not yet scheduled (no ``spec.nodeName``) before scheduled;
2. ``Pending`` before ``Unknown`` before ``Running``;
3. not ready before ready;
4. lower ``controller.kubernetes.io/pod-deletion-cost`` before higher;
5. pods sharing a node with more of their related pods (the same owner's
   and its siblings') before pods that are more spread out;
6. ready for less time before ready for longer (exact times; Kubernetes'
   logarithmic bucketing is not done);
7. more container restarts before fewer;
8. newer (later ``creationTimestamp``) before older.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from corral.kube.podstatus import is_pod_ready, parse_time, ready_since

Obj = Mapping[str, Any]
P = TypeVar("P", bound=Mapping[str, Any])

DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"

_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def _deletion_cost(pod: Obj) -> int:
    text = ((pod.get("metadata") or {}).get("annotations") or {}).get(DELETION_COST_ANNOTATION)
    try:
        return int(text) if text is not None else 0
    except ValueError:
        return 0


def _restarts(pod: Obj) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((int(s.get("restartCount") or 0) for s in statuses), default=0)


def _timestamp(text: object) -> float:
    moment = parse_time(text)
    return moment.timestamp() if moment is not None else 0.0


def pods_to_delete(pods: Sequence[P], related: Sequence[Obj], count: int) -> list[P]:
    """The first ``count`` pods of ``pods`` in deletion order; ``related`` pods (including
    ``pods``) rank how crowded each node is."""
    if count >= len(pods):
        return list(pods)
    on_node = Counter(
        (p.get("spec") or {}).get("nodeName", "")
        for p in related
        if (p.get("spec") or {}).get("nodeName")
    )

    def key(pod: Obj) -> tuple[Any, ...]:
        node = (pod.get("spec") or {}).get("nodeName") or ""
        phase = (pod.get("status") or {}).get("phase", "Pending")
        ready = is_pod_ready(pod)
        since = ready_since(pod)
        created = _timestamp((pod.get("metadata") or {}).get("creationTimestamp"))
        return (
            1 if node else 0,
            _PHASE_RANK.get(phase, 0),
            1 if ready else 0,
            _deletion_cost(pod),
            -on_node.get(node, 0) if node else 0,
            -(since.timestamp()) if ready and since is not None else 0.0,
            -_restarts(pod),
            -created,
        )

    return sorted(pods, key=key)[:count]
