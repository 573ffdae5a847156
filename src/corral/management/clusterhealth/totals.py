"""What a cluster holds and what its pods ask for: exact sums of resource quantities.

A cluster's ``capacity`` and ``allocatable`` are the sums over its nodes'
``status.capacity``/``status.allocatable``; ``requested`` is the sum of the
requests of the pods that hold a place on a node. The numbers are exact
(`decimal.Decimal` through ``corral.machinery.quota``, the same arithmetic
the resource quota controller uses, so ``100m`` three times is ``300m``)
and printed as Kubernetes prints quantities: memory in binary units when a
power of 1024 divides it (``12Gi``), everything else in SI (``1500m``).

Decisions:

- Only ``cpu``, ``memory`` and ``pods`` are reported (Rancher's cluster
  fields); a resource no node reports is absent rather than ``0``.
- A pod counts toward ``requested`` when it is bound to a node
  (``spec.nodeName``) and not terminated (phase Succeeded/Failed, or past
  its deletion grace period — ``pod_is_counted``); an unscheduled pod holds
  no node's room yet. Its requests are the scheduler's: the larger of its
  containers' sum and its largest init container, plus overhead
  (``pod_compute``). ``requested.pods`` is the number of such pods.
- An unreadable quantity counts as nothing (validation refuses them
  upstream; a cluster's bad data must not stop its health report).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from corral.machinery.quota import ZERO, format_usage, parse, pod_compute
from corral.machinery.quota.usage import pod_is_counted

#: The resources a Cluster's capacity, allocatable and requested report.
REPORTED = ("cpu", "memory", "pods")

Totals = dict[str, Decimal]


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def node_totals(nodes: Iterable[Mapping[str, Any]], field: str) -> Totals:
    """The sum of ``status.<field>`` (capacity or allocatable) over ``nodes``."""
    out: Totals = {}
    for node in nodes:
        listed = _mapping(_mapping(node.get("status")).get(field))
        for name in REPORTED:
            if name not in listed:
                continue
            value = parse(listed[name])
            if value is not None:
                out[name] = out.get(name, ZERO) + value
    return out


def holds_room(pod: Mapping[str, Any]) -> bool:
    """Whether ``pod`` takes room on a node now: bound and not terminated."""
    spec = _mapping(pod.get("spec"))
    return bool(spec.get("nodeName")) and pod_is_counted(pod)


def requested_totals(pods: Iterable[Mapping[str, Any]]) -> Totals:
    """The summed cpu/memory requests (and count) of the pods that hold room on a node."""
    out: Totals = {"pods": ZERO}
    for pod in pods:
        if not holds_room(pod):
            continue
        out["pods"] += 1
        compute = pod_compute(pod)
        for name in ("cpu", "memory"):
            value = compute.get(f"requests.{name}")
            if value is not None:
                out[name] = out.get(name, ZERO) + value
    return out


def render(totals: Totals) -> dict[str, str]:
    """``totals`` as Kubernetes quantity strings, in `REPORTED` order."""
    return {name: format_usage(name, totals[name]) for name in REPORTED if name in totals}
