"""What one object counts against a ResourceQuota (Kubernetes' quota evaluators).

`usage(group, resource, obj)` is the object's usage as Kubernetes' evaluators
compute it, and `covers(group, resource, name)` says whether a quota
resource name (``requests.cpu``, ``count/deployments.apps``…) is one an
object of that kind can use. Both the API server (admission charges a new
object's usage) and the resource quota controller (``status.used`` is the
sum over the namespace's objects) use them, so the two always agree.

- Every object: ``count/<resource>[.<group>]`` = 1.
- Pods: ``pods`` = 1 and compute resources unless the pod is terminal
  (Succeeded/Failed) or past its deletion grace period; per resource the
  larger of the containers' sum and the largest init container, plus
  ``spec.overhead``: ``requests.<r>`` (and bare ``cpu``, ``memory``,
  ``ephemeral-storage``, ``hugepages-*``), ``limits.<r>`` for cpu, memory,
  ephemeral-storage.
- Services: ``services`` = 1, ``services.nodeports`` (ports of a NodePort or
  LoadBalancer service), ``services.loadbalancers``.
- PersistentVolumeClaims: ``persistentvolumeclaims`` = 1,
  ``requests.storage``, and the same per storage class
  (``<class>.storageclass.storage.k8s.io/requests.storage``).
- ConfigMaps, Secrets, ReplicationControllers, ResourceQuotas: their legacy
  count names (``configmaps`` …) = 1.

Scopes (``Terminating``, ``NotTerminating``, ``BestEffort``,
``NotBestEffort``) select pods only (`matches_scopes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from corral.machinery.quota.quantities import ZERO, parse

Obj = Mapping[str, Any]
ResourceList = dict[str, Decimal]

#: Resources that a quota on cpu or memory makes every container state.
COMPUTE_VALIDATION = frozenset(
    {"requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "cpu", "memory"}
)
_BARE = ("cpu", "memory", "ephemeral-storage")
_LIMITED = ("cpu", "memory", "ephemeral-storage")
_LEGACY_COUNTS = {
    "configmaps": "configmaps",
    "secrets": "secrets",
    "replicationcontrollers": "replicationcontrollers",
    "resourcequotas": "resourcequotas",
    "services": "services",
    "persistentvolumeclaims": "persistentvolumeclaims",
    "pods": "pods",
}
STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"
POD_SCOPES = ("Terminating", "NotTerminating", "BestEffort", "NotBestEffort")


def count_name(group: str, resource: str) -> str:
    """``count/pods``, ``count/deployments.apps``."""
    return f"count/{resource}.{group}" if group else f"count/{resource}"


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def covers(group: str, resource: str, name: str) -> bool:
    """True if quota resource ``name`` is one objects of ``group/resource`` use."""
    if name == count_name(group, resource):
        return True
    if group:
        return False
    if _LEGACY_COUNTS.get(resource) == name:
        return True
    if resource == "pods":
        return (
            name.startswith(("requests.", "limits.", "hugepages-")) and name != "requests.storage"
        ) or name in _BARE
    if resource == "services":
        return name in ("services.nodeports", "services.loadbalancers")
    if resource == "persistentvolumeclaims":
        return name == "requests.storage" or STORAGE_CLASS_SUFFIX in name
    return False


def _add(into: ResourceList, key: str, value: Decimal) -> None:
    into[key] = into.get(key, ZERO) + value


def _container_usage(container: Obj) -> ResourceList:
    resources = _mapping(_mapping(container).get("resources"))
    out: ResourceList = {}
    for name, raw in _mapping(resources.get("requests")).items():
        value = parse(raw)
        if value is None:
            continue
        out[f"requests.{name}"] = value
        if name in _BARE or name.startswith("hugepages-"):
            out[name] = value
    for name, raw in _mapping(resources.get("limits")).items():
        value = parse(raw)
        if value is not None and name in _LIMITED:
            out[f"limits.{name}"] = value
    return out


def pod_compute(pod: Obj) -> ResourceList:
    """Max(sum of containers, largest init container) + overhead, per resource."""
    spec = _mapping(pod.get("spec"))
    total: ResourceList = {}
    for container in _list(spec.get("containers")):
        for key, value in _container_usage(container).items():
            _add(total, key, value)
    for container in _list(spec.get("initContainers")):
        for key, value in _container_usage(container).items():
            if value > total.get(key, ZERO):
                total[key] = value
    for name, raw in _mapping(spec.get("overhead")).items():
        extra = parse(raw)
        if extra is None:
            continue
        for key in (f"requests.{name}", f"limits.{name}" if name in _LIMITED else ""):
            if key and key in total:
                _add(total, key, extra)
        if name in total:
            _add(total, name, extra)
    return total


def pod_is_counted(pod: Obj, now: datetime | None = None) -> bool:
    """``QuotaV1Pod``: not terminal and not past its deletion grace period."""
    if _mapping(pod.get("status")).get("phase") in ("Succeeded", "Failed"):
        return False
    meta = _mapping(pod.get("metadata"))
    stamp = meta.get("deletionTimestamp")
    if not isinstance(stamp, str) or not stamp:
        return True
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return True
    grace = meta.get("deletionGracePeriodSeconds")
    grace = grace if isinstance(grace, int) else 0
    return (now or datetime.now(UTC)).timestamp() <= when.timestamp() + grace


def usage(group: str, resource: str, obj: Obj) -> ResourceList:
    """What ``obj`` (of ``group/resource``) counts against a quota."""
    out: ResourceList = {count_name(group, resource): Decimal(1)}
    if group:
        return out
    legacy = _LEGACY_COUNTS.get(resource)
    if resource == "pods":
        if not pod_is_counted(obj):
            return out
        out["pods"] = Decimal(1)
        out.update(pod_compute(obj))
        return out
    if legacy:
        out[legacy] = Decimal(1)
    if resource == "services":
        out.update(_service_usage(obj))
    elif resource == "persistentvolumeclaims":
        out.update(_claim_usage(obj))
    return out


def _service_usage(svc: Obj) -> ResourceList:
    spec = _mapping(svc.get("spec"))
    ports = _list(spec.get("ports"))
    out: ResourceList = {"services.loadbalancers": ZERO, "services.nodeports": ZERO}
    kind = spec.get("type")
    if kind == "NodePort":
        out["services.nodeports"] = Decimal(len(ports))
    elif kind == "LoadBalancer":
        out["services.loadbalancers"] = Decimal(1)
        if spec.get("allocateLoadBalancerNodePorts") is False:
            with_ports = [p for p in ports if _mapping(p).get("nodePort")]
            out["services.nodeports"] = Decimal(len(with_ports))
        else:
            out["services.nodeports"] = Decimal(len(ports))
    return out


def _claim_usage(claim: Obj) -> ResourceList:
    spec = _mapping(claim.get("spec"))
    out: ResourceList = {}
    storage = parse(_mapping(_mapping(spec.get("resources")).get("requests")).get("storage"))
    if storage is not None:
        out["requests.storage"] = storage
    klass = spec.get("storageClassName")
    if isinstance(klass, str) and klass:
        out[f"{klass}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"] = Decimal(1)
        if storage is not None:
            out[f"{klass}{STORAGE_CLASS_SUFFIX}requests.storage"] = storage
    return out


def is_best_effort(pod: Obj) -> bool:
    """No container requests or limits cpu or memory (QoS class BestEffort)."""
    spec = _mapping(pod.get("spec"))
    for field in ("initContainers", "containers"):
        for container in _list(spec.get(field)):
            resources = _mapping(_mapping(container).get("resources"))
            for part in ("requests", "limits"):
                if any(k in ("cpu", "memory") for k in _mapping(resources.get(part))):
                    return False
    return True


def matches_scopes(group: str, resource: str, obj: Obj, scopes: Iterable[str]) -> bool:
    """True if the quota with ``scopes`` (``spec.scopes``) applies to ``obj``."""
    wanted = [s for s in scopes if isinstance(s, str)]
    if not wanted:
        return True
    if group or resource != "pods":
        return False
    spec = _mapping(obj.get("spec"))
    terminating = spec.get("activeDeadlineSeconds") is not None
    best_effort = is_best_effort(obj)
    for scope in wanted:
        if scope == "Terminating" and not terminating:
            return False
        if scope == "NotTerminating" and terminating:
            return False
        if scope == "BestEffort" and not best_effort:
            return False
        if scope == "NotBestEffort" and best_effort:
            return False
        if scope not in POD_SCOPES:
            return False
    return True


def quota_scopes(quota: Obj) -> list[str]:
    """``spec.scopes`` plus the ``Exists``/``In`` scopes of ``spec.scopeSelector`` we know."""
    spec = _mapping(quota.get("spec"))
    scopes = [s for s in _list(spec.get("scopes")) if isinstance(s, str)]
    for expr in _list(_mapping(spec.get("scopeSelector")).get("matchExpressions")):
        name = _mapping(expr).get("scopeName")
        if isinstance(name, str) and _mapping(expr).get("operator") == "Exists":
            scopes.append(name)
    return scopes


def subtract(a: ResourceList, b: ResourceList) -> ResourceList:
    """``a - b`` over the keys of ``a``."""
    return {k: v - b.get(k, ZERO) for k, v in a.items()}
