"""`PodInfo`: what the scheduler needs of a pod, parsed once.

A pending pod is checked against every node; a bound pod is added to and
removed from its node's totals. Parsing quantities, affinity terms and ports
on each of those would dominate the scheduler's time, so a pod is read once
into a `PodInfo` (requests in integer units, node constraints, host ports,
tolerations, the group it spreads with) and only that is used afterwards.

Units: ``cpu`` in millicores, every other resource in its base unit
(bytes, counts), rounded up, as Kubernetes' ``MilliValue``/``Value`` do.
``pods`` is always 1: a node's ``allocatable.pods`` caps how many it holds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.kube.scheduler.affinity import NodeSelectorTerm, compile_terms
from corral.kube.taints import pod_tolerations
from corral.machinery.validation.quantity import quantity_value

Resources = dict[str, int]

CPU, MEMORY, PODS = "cpu", "memory", "pods"
# Scoring counts a pod that requests nothing as if it asked for this much
# (Kubernetes' DefaultMilliCPURequest / DefaultMemoryRequest), so that
# best-effort pods still spread by load.
DEFAULT_CPU_MILLI = 100
DEFAULT_MEMORY = 200 * 1024 * 1024

HostPort = tuple[str, str, int]  # (hostIP, protocol, port)


def to_units(resource: str, value: object) -> int:
    """A quantity as the integer the scheduler compares (0 if unreadable)."""
    number = quantity_value(value)
    if number is None or number <= 0:
        return 0
    if resource == CPU:
        number *= 1000
    return math.ceil(number)


def resource_list(values: object) -> Resources:
    if not isinstance(values, Mapping):
        return {}
    out: Resources = {}
    for name, value in values.items():
        units = to_units(str(name), value)
        if units:
            out[str(name)] = units
    return out


def _add(into: Resources, more: Mapping[str, int]) -> None:
    for name, value in more.items():
        into[name] = into.get(name, 0) + value


def _max(into: Resources, other: Mapping[str, int]) -> None:
    for name, value in other.items():
        if value > into.get(name, 0):
            into[name] = value


def _container_requests(container: object) -> Resources:
    if not isinstance(container, Mapping):
        return {}
    resources = container.get("resources") or {}
    return resource_list(resources.get("requests") if isinstance(resources, Mapping) else None)


def pod_requests(spec: Mapping[str, Any]) -> Resources:
    """The pod's effective requests (Kubernetes' ``PodRequests``).

    The sum of the containers' requests; an init container runs alone (next to
    the sidecars started before it), so the pod needs at least the largest of
    those; restartable init containers (sidecars) keep running and add to the
    sum; ``overhead`` is added on top.
    """
    total: Resources = {}
    for container in spec.get("containers") or []:
        _add(total, _container_requests(container))
    init_max: Resources = {}
    sidecars: Resources = {}
    for container in spec.get("initContainers") or []:
        requests = _container_requests(container)
        if isinstance(container, Mapping) and container.get("restartPolicy") == "Always":
            _add(total, requests)
            _add(sidecars, requests)
            step = dict(sidecars)
        else:
            step = dict(requests)
            _add(step, sidecars)
        _max(init_max, step)
    _max(total, init_max)
    _add(total, resource_list(spec.get("overhead")))
    total[PODS] = 1
    return total


def host_ports(spec: Mapping[str, Any]) -> tuple[HostPort, ...]:
    ports: list[HostPort] = []
    for group in ("initContainers", "containers"):
        for container in spec.get(group) or []:
            if not isinstance(container, Mapping):
                continue
            for port in container.get("ports") or []:
                if not isinstance(port, Mapping):
                    continue
                number = port.get("hostPort")
                if isinstance(number, int) and number > 0:
                    ip = str(port.get("hostIP") or "0.0.0.0")  # noqa: S104 - a wildcard, not a bind
                    ports.append((ip, str(port.get("protocol") or "TCP"), number))
    return tuple(ports)


def spread_group(pod: Mapping[str, Any]) -> str:
    """The pods this one should spread away from: same controller, else same labels."""
    meta = pod.get("metadata") or {}
    namespace = meta.get("namespace") or ""
    for ref in meta.get("ownerReferences") or []:
        if isinstance(ref, Mapping) and ref.get("controller") and ref.get("uid"):
            return f"{namespace}/owner/{ref['uid']}"
    labels = meta.get("labels") or {}
    if isinstance(labels, Mapping) and labels:
        return f"{namespace}/labels/" + ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return ""


def _required_terms(spec: Mapping[str, Any]) -> tuple[NodeSelectorTerm, ...] | None:
    affinity = spec.get("affinity") or {}
    node_affinity = affinity.get("nodeAffinity") if isinstance(affinity, Mapping) else None
    if not isinstance(node_affinity, Mapping):
        return None
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if not isinstance(required, Mapping):
        return None
    return compile_terms(required.get("nodeSelectorTerms") or [])


def _preferred_terms(spec: Mapping[str, Any]) -> tuple[tuple[int, NodeSelectorTerm], ...]:
    affinity = spec.get("affinity") or {}
    node_affinity = affinity.get("nodeAffinity") if isinstance(affinity, Mapping) else None
    if not isinstance(node_affinity, Mapping):
        return ()
    out: list[tuple[int, NodeSelectorTerm]] = []
    for item in node_affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or []:
        if not isinstance(item, Mapping):
            continue
        weight = item.get("weight")
        terms = compile_terms([item.get("preference") or {}])
        if isinstance(weight, int) and weight > 0 and terms:
            out.append((weight, terms[0]))
    return tuple(out)


@dataclass(slots=True)
class PodInfo:
    """One pod as the scheduler sees it."""

    key: str
    uid: str
    node_name: str
    requests: Resources
    score_cpu: int = 0
    score_memory: int = 0
    node_selector: dict[str, str] = field(default_factory=dict)
    required_terms: tuple[NodeSelectorTerm, ...] | None = None
    preferred_terms: tuple[tuple[int, NodeSelectorTerm], ...] = ()
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    ports: tuple[HostPort, ...] = ()
    group: str = ""


def pod_info(key: str, pod: Mapping[str, Any]) -> PodInfo:
    spec = pod.get("spec") or {}
    meta = pod.get("metadata") or {}
    requests = pod_requests(spec)
    selector = spec.get("nodeSelector") or {}
    return PodInfo(
        key=key,
        uid=str(meta.get("uid") or ""),
        node_name=str(spec.get("nodeName") or ""),
        requests=requests,
        score_cpu=requests.get(CPU) or DEFAULT_CPU_MILLI,
        score_memory=requests.get(MEMORY) or DEFAULT_MEMORY,
        node_selector={str(k): str(v) for k, v in selector.items()}
        if isinstance(selector, Mapping)
        else {},
        required_terms=_required_terms(spec),
        preferred_terms=_preferred_terms(spec),
        tolerations=pod_tolerations(pod),
        ports=host_ports(spec),
        group=spread_group(pod),
    )
