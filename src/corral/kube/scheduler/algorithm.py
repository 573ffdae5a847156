"""Where a pod may go (filters), where it should go (scores), and why it cannot.

Pure functions over `PodInfo` and `NodeInfo`, no I/O, so they are tested
without a server and cost only arithmetic per node.

Filters, in Kubernetes' plugin order; a node is rejected by the first that
fails, and that filter's reasons are counted for the message
(``NodeResourcesFit`` may give several: ``Insufficient cpu`` and
``Insufficient memory``):

1. NodeUnschedulable — ``spec.unschedulable`` (unless the pod tolerates the
   ``node.kubernetes.io/unschedulable`` taint);
2. TaintToleration — a NoSchedule/NoExecute taint the pod does not tolerate;
3. readiness — the Ready condition is not True (a pod that tolerates the
   matching not-ready/unreachable taint may still go, as DaemonSet pods do);
4. NodeAffinity — ``nodeSelector`` and required node affinity;
5. NodePorts — a host port already taken on the node;
6. NodeResourcesFit — requests (and the pod count) against allocatable.

Scores (0 to 100 each, weighted as the default profile weighs them):
least allocated and balanced allocation (weight 1 each, on cpu and memory
counting best-effort pods at 100m/200Mi), spread of pods of the same group
(weight 2, fewer of its siblings is better), PreferNoSchedule taints
(weight 3) and preferred node affinity (weight 2). Ties are broken at random.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from corral.kube.scheduler.affinity import matches_any
from corral.kube.scheduler.cache import NodeInfo
from corral.kube.scheduler.podinfo import CPU, MEMORY, PODS, HostPort, PodInfo
from corral.kube.taints import NO_SCHEDULE, NOT_READY, UNREACHABLE, UNSCHEDULABLE
from corral.kube.taints import tolerated as taint_tolerated

UNSCHEDULABLE_REASON = "node(s) were unschedulable"
NOT_READY_REASON = "node(s) were not ready"
AFFINITY_REASON = "node(s) didn't match Pod's node affinity/selector"
PORTS_REASON = "node(s) didn't have free ports for the requested pod ports"
TOO_MANY_PODS = "Too many pods"

_WILDCARD = "0.0.0.0"  # noqa: S104 - a host port's "any address", not a bind


def _port_conflict(wanted: HostPort, used: Iterable[HostPort]) -> bool:
    ip, protocol, port = wanted
    for used_ip, used_protocol, used_port in used:
        same_port = used_port == port and used_protocol == protocol
        if same_port and (ip == used_ip or _WILDCARD in (ip, used_ip)):
            return True
    return False


def filter_node(pod: PodInfo, node: NodeInfo) -> list[str]:
    """Why ``pod`` cannot go to ``node`` (empty: it fits)."""
    if node.unschedulable and not taint_tolerated(
        {"key": UNSCHEDULABLE, "effect": NO_SCHEDULE}, pod.tolerations
    ):
        return [UNSCHEDULABLE_REASON]
    for taint in node.hard_taints:
        if not taint_tolerated(taint, pod.tolerations):
            key, value = taint.get("key", ""), taint.get("value", "")
            return [f"node(s) had untolerated taint {{{key}: {value}}}"]
    if not node.ready and not (
        taint_tolerated({"key": NOT_READY, "effect": NO_SCHEDULE}, pod.tolerations)
        and taint_tolerated({"key": UNREACHABLE, "effect": NO_SCHEDULE}, pod.tolerations)
    ):
        return [NOT_READY_REASON]
    if pod.node_selector and any(node.labels.get(k) != v for k, v in pod.node_selector.items()):
        return [AFFINITY_REASON]
    if pod.required_terms is not None and not matches_any(
        pod.required_terms, node.name, node.labels
    ):
        return [AFFINITY_REASON]
    if pod.ports and node.ports and any(_port_conflict(p, node.ports) for p in pod.ports):
        return [PORTS_REASON]
    return _resource_reasons(pod, node)


def _resource_reasons(pod: PodInfo, node: NodeInfo) -> list[str]:
    reasons: list[str] = []
    allocatable, requested = node.allocatable, node.requested
    if len(node.pods) + 1 > allocatable.get(PODS, 0):
        reasons.append(TOO_MANY_PODS)
    for name, value in pod.requests.items():
        if name == PODS:
            continue
        if requested.get(name, 0) + value > allocatable.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


# -- scoring -------------------------------------------------------------------

MAX_SCORE = 100.0
WEIGHT_FIT, WEIGHT_BALANCED, WEIGHT_SPREAD, WEIGHT_TAINT, WEIGHT_AFFINITY = 1, 1, 2, 3, 2


def _fraction(used: int, capacity: int) -> float:
    if capacity <= 0:
        return 1.0
    return min(1.0, used / capacity)


def least_allocated(pod: PodInfo, node: NodeInfo) -> float:
    cpu = _fraction(node.score_cpu + pod.score_cpu, node.allocatable.get(CPU, 0))
    memory = _fraction(node.score_memory + pod.score_memory, node.allocatable.get(MEMORY, 0))
    return (2.0 - cpu - memory) / 2.0 * MAX_SCORE


def balanced_allocation(pod: PodInfo, node: NodeInfo) -> float:
    cpu = _fraction(node.score_cpu + pod.score_cpu, node.allocatable.get(CPU, 0))
    memory = _fraction(node.score_memory + pod.score_memory, node.allocatable.get(MEMORY, 0))
    return (1.0 - abs(cpu - memory) / 2.0) * MAX_SCORE


def _normalized_reverse(values: list[float]) -> list[float]:
    """Fewer is better: 100 for the smallest count, 0 for the largest."""
    top = max(values, default=0.0)
    if top <= 0:
        return [MAX_SCORE] * len(values)
    return [(top - v) / top * MAX_SCORE for v in values]


def _normalized(values: list[float]) -> list[float]:
    top = max(values, default=0.0)
    if top <= 0:
        return [0.0] * len(values)
    return [v / top * MAX_SCORE for v in values]


def score_nodes(pod: PodInfo, nodes: list[NodeInfo]) -> list[float]:
    """The weighted score of each feasible node (same order)."""
    totals = [
        WEIGHT_FIT * least_allocated(pod, n) + WEIGHT_BALANCED * balanced_allocation(pod, n)
        for n in nodes
    ]
    if pod.group:
        spread = _normalized_reverse([float(n.groups.get(pod.group, 0)) for n in nodes])
        totals = [t + WEIGHT_SPREAD * s for t, s in zip(totals, spread, strict=True)]
    if any(n.soft_taints for n in nodes):
        counts = [
            float(sum(1 for t in n.soft_taints if not taint_tolerated(t, pod.tolerations)))
            for n in nodes
        ]
        taint = _normalized_reverse(counts)
        totals = [t + WEIGHT_TAINT * s for t, s in zip(totals, taint, strict=True)]
    if pod.preferred_terms:
        weights = [
            float(sum(w for w, term in pod.preferred_terms if term.matches(n.name, n.labels)))
            for n in nodes
        ]
        affinity = _normalized(weights)
        totals = [t + WEIGHT_AFFINITY * s for t, s in zip(totals, affinity, strict=True)]
    return totals


# -- one decision ----------------------------------------------------------------


@dataclass(slots=True)
class Decision:
    """A node for the pod, or the reasons no node fits."""

    node: str = ""
    considered: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def message(self) -> str:
        return fit_error_message(self.considered, self.reasons)


def fit_error_message(total: int, reasons: Counter[str]) -> str:
    """Kubernetes' FitError text: ``0/3 nodes are available: 1 …, 2 Insufficient cpu.``"""
    message = f"0/{total} nodes are available"
    parts = sorted(f"{count} {reason}" for reason, count in reasons.items())
    if parts:
        return f"{message}: {', '.join(parts)}."
    return message + "."


def schedule(pod: PodInfo, nodes: Iterable[NodeInfo], rng: random.Random | None = None) -> Decision:
    """Filter every node, score the feasible ones, pick the best (random among ties)."""
    decision = Decision()
    feasible: list[NodeInfo] = []
    for node in nodes:
        decision.considered += 1
        reasons = filter_node(pod, node)
        if reasons:
            decision.reasons.update(reasons)
        else:
            feasible.append(node)
    if not feasible:
        return decision
    if len(feasible) == 1:
        decision.node = feasible[0].name
        return decision
    scores = score_nodes(pod, feasible)
    best = max(scores)
    top = [n for n, s in zip(feasible, scores, strict=True) if s >= best - 1e-9]
    decision.node = (rng or random).choice(top).name
    return decision
