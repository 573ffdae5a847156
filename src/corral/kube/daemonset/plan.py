"""What a DaemonSet sync should do, decided without I/O.

Three decisions of Kubernetes' DaemonSet controller, as pure functions so
they can be tested on plain dicts:

- `manage` (``podsShouldBeOnNode`` over every node): create a pod where one
  should run and none does; delete failed or succeeded pods (they come back
  on the next pass), duplicates (the oldest stays; during a surge one old
  and one new pod may coexist), pods on nodes they may no longer run on
  (an untolerated ``NoExecute`` taint, a selector or affinity that stopped
  matching), and pods for nodes that no longer exist.
- `rolling_update` (``rollingUpdate``): without surge, delete old pods —
  unavailable ones at once, available ones while fewer than
  ``maxUnavailable`` pods are unavailable; with ``maxSurge``, create the new
  pod next to the old one first (up to ``maxSurge`` nodes at a time) and
  delete the old one when the new one is available.
- `compute_status` (``updateDaemonSetStatus``): the counts ``kubectl
  rollout status daemonset/x`` reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from corral.kube.daemonset.placement import meta, should_run, spec
from corral.kube.intorpercent import scaled_or_zero as scaled
from corral.kube.podstatus import is_pod_available, is_pod_ready
from corral.kube.revisions import POD_REVISION_LABEL

Obj = dict[str, Any]


@dataclass(slots=True)
class Plan:
    create_on: list[str] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def is_rolling_update(ds: Mapping[str, Any]) -> bool:
    strategy = spec(ds).get("updateStrategy") or {}
    return (strategy.get("type") or "RollingUpdate") == "RollingUpdate"


def surge_and_unavailable(ds: Mapping[str, Any], desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) against ``desired`` nodes; both 0 means 1 unavailable."""
    if not is_rolling_update(ds):
        return 0, 1
    rolling = (spec(ds).get("updateStrategy") or {}).get("rollingUpdate") or {}
    surge = scaled(rolling.get("maxSurge", 0), desired)
    unavailable = scaled(rolling.get("maxUnavailable", 1), desired)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def is_updated(pod: Mapping[str, Any], hash_: str) -> bool:
    return bool(hash_) and (meta(pod).get("labels") or {}).get(POD_REVISION_LABEL) == hash_


def _age_key(pod: Mapping[str, Any]) -> tuple[str, str]:
    """Oldest first; among equals, running before pending (``podByCreationTimestampAndPhase``)."""
    phase = (pod.get("status") or {}).get("phase")
    return (str(meta(pod).get("creationTimestamp") or ""), "0" if phase == "Running" else "1")


def _finished(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded")


def _deleting(pod: Mapping[str, Any]) -> bool:
    return bool(meta(pod).get("deletionTimestamp"))


def manage(
    ds: Mapping[str, Any],
    template: Mapping[str, Any],
    nodes: Sequence[Obj],
    by_node: Mapping[str, list[Obj]],
    hash_: str,
    now: datetime,
) -> Plan:
    plan = Plan()
    surge, _ = surge_and_unavailable(ds, len(nodes))
    min_ready = _int(spec(ds).get("minReadySeconds"))
    names = set()
    for node in nodes:
        name = str(meta(node).get("name") or "")
        names.add(name)
        run, keep = should_run(node, template)
        pods = by_node.get(name) or []
        running: list[Obj] = []
        replaced_finished = False
        for pod in pods:
            if _deleting(pod):
                continue
            if _finished(pod):
                plan.delete.append(pod)
                replaced_finished = True
                continue
            running.append(pod)
        if run:
            if not running:
                if not replaced_finished:
                    plan.create_on.append(name)
                continue
            running.sort(key=_age_key)
            if surge > 0 and is_rolling_update(ds):
                oldest_new = next((p for p in running if is_updated(p, hash_)), None)
                oldest_old = next((p for p in running if not is_updated(p, hash_)), None)
                keep_pods = [p for p in (oldest_new, oldest_old) if p is not None]
                plan.delete += [p for p in running if all(p is not k for k in keep_pods)]
                if (
                    oldest_new is not None
                    and oldest_old is not None
                    and (
                        not is_pod_ready(oldest_old) or is_pod_available(oldest_new, min_ready, now)
                    )
                ):
                    plan.delete.append(oldest_old)
            else:
                plan.delete += running[1:]
        elif not keep:
            plan.delete += running
    for node_name, pods in by_node.items():
        if node_name not in names:
            plan.delete += [p for p in pods if not _deleting(p)]
    return plan


def rolling_update(
    ds: Mapping[str, Any],
    template: Mapping[str, Any],
    nodes: Sequence[Obj],
    by_node: Mapping[str, list[Obj]],
    hash_: str,
    now: datetime,
) -> Plan:
    plan = Plan()
    desired = sum(1 for n in nodes if should_run(n, template)[0])
    surge, max_unavailable = surge_and_unavailable(ds, desired)
    min_ready = _int(spec(ds).get("minReadySeconds"))
    node_by_name = {str(meta(n).get("name") or ""): n for n in nodes}
    unavailable = 0
    allowed: list[Obj] = []
    candidates: list[Obj] = []
    new_nodes_allowed: list[str] = []
    new_node_candidates: list[str] = []
    surging = 0
    for name in sorted(by_node):
        live = [p for p in by_node[name] if not _deleting(p) and not _finished(p)]
        new = [p for p in live if is_updated(p, hash_)]
        old = [p for p in live if not is_updated(p, hash_)]
        if len(new) > 1 or len(old) > 1:
            unavailable += 1  # manage removes the duplicates first
            continue
        new_pod: Obj | None = new[0] if new else None
        old_pod: Obj | None = old[0] if old else None
        if surge == 0:
            if (new_pod is None) == (old_pod is None):
                continue
            if old_pod is not None:
                if not is_pod_available(old_pod, min_ready, now):
                    allowed.append(old_pod)
                    unavailable += 1
                else:
                    candidates.append(old_pod)
            elif new_pod is not None and not is_pod_available(new_pod, min_ready, now):
                unavailable += 1
            continue
        if old_pod is None:
            continue
        if new_pod is None:
            node = node_by_name.get(name)
            if node is None or not should_run(node, template)[0]:
                continue
            if not is_pod_available(old_pod, min_ready, now):
                new_nodes_allowed.append(name)
            else:
                new_node_candidates.append(name)
        elif not is_pod_available(new_pod, min_ready, now):
            surging += 1
        else:
            plan.delete.append(old_pod)
    if surge == 0:
        room = min(max(max_unavailable - unavailable, 0), len(candidates))
        plan.delete = allowed + candidates[:room]
        return plan
    room = min(max(surge - surging, 0), len(new_node_candidates))
    plan.create_on = new_nodes_allowed + new_node_candidates[:room]
    return plan


def compute_status(
    ds: Mapping[str, Any],
    template: Mapping[str, Any],
    nodes: Sequence[Obj],
    by_node: Mapping[str, list[Obj]],
    hash_: str,
    now: datetime,
) -> dict[str, int]:
    min_ready = _int(spec(ds).get("minReadySeconds"))
    counts = dict.fromkeys(
        (
            "currentNumberScheduled",
            "numberMisscheduled",
            "desiredNumberScheduled",
            "numberReady",
            "updatedNumberScheduled",
            "numberAvailable",
        ),
        0,
    )
    for node in nodes:
        name = str(meta(node).get("name") or "")
        run, _ = should_run(node, template)
        pods = sorted((p for p in by_node.get(name) or [] if not _deleting(p)), key=_age_key)
        if not run:
            if pods:
                counts["numberMisscheduled"] += 1
            continue
        counts["desiredNumberScheduled"] += 1
        if not pods:
            continue
        counts["currentNumberScheduled"] += 1
        pod = pods[0]
        if is_pod_ready(pod):
            counts["numberReady"] += 1
            if is_pod_available(pod, min_ready, now):
                counts["numberAvailable"] += 1
        if is_updated(pod, hash_):
            counts["updatedNumberScheduled"] += 1
    counts["numberUnavailable"] = counts["desiredNumberScheduled"] - counts["numberAvailable"]
    return counts
