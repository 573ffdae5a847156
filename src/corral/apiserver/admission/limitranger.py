"""The LimitRanger admission plugin: defaults and bounds from a namespace's LimitRanges.

As Kubernetes' ``LimitRanger`` (messages included):

- **Defaults** (pods, on create): for each ``type: Container`` item, a
  container (or init container) without a request or limit for a resource
  gets ``defaultRequest`` / ``default``; as the LimitRange's own defaulting
  does, a missing ``default`` comes from ``max``, a missing
  ``defaultRequest`` from ``default``, then from ``min``. What was set is
  recorded in the ``kubernetes.io/limit-ranger`` annotation, and the pod's
  QoS class is recomputed.
- **Bounds**: ``Container`` items apply ``min``, ``max`` and
  ``maxLimitRequestRatio`` to each container, ``Pod`` items to the pod's
  totals, ``PersistentVolumeClaim`` items to a claim's storage request (on
  create and update). A violation is 403 Forbidden, e.g. ``pods "web" is
  forbidden: maximum cpu usage per Container is 1, but limit is 2``;
  several are listed as ``[a, b]``.

Pods are not checked on update (their containers' resources cannot change)
nor are subresources.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from corral.apiserver.admission.common import namespace_objects
from corral.apiserver.watchcache import WatchCaches
from corral.machinery.admission import Admitted, Attributes, Operation
from corral.machinery.quota import format_like, format_quantity, milli, parse
from corral.machinery.status import Forbidden
from corral.machinery.validation.defaults_pod import qos_class
from corral.storage import Backend

Obj = dict[str, Any]
LIMIT_RANGES_PREFIX = "/registry/core/limitranges/"
ANNOTATION = "kubernetes.io/limit-ranger"
Resources = Mapping[str, Any]


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(limit_range: Obj) -> list[Mapping[str, Any]]:
    limits = _mapping(limit_range.get("spec")).get("limits")
    return [_mapping(i) for i in limits] if isinstance(limits, list) else []


def container_defaults(item: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(default requests, default limits) of a Container item, with LimitRange defaulting."""
    limits = dict(_mapping(item.get("default")))
    requests = dict(_mapping(item.get("defaultRequest")))
    for key, value in _mapping(item.get("max")).items():
        limits.setdefault(key, value)
    for key, value in limits.items():
        requests.setdefault(key, value)
    for key, value in _mapping(item.get("min")).items():
        requests.setdefault(key, value)
    return requests, limits


def _containers(spec: Mapping[str, Any]) -> list[tuple[str, Obj]]:
    out = []
    for field, label in (("containers", "container"), ("initContainers", "init container")):
        for c in spec.get(field) or []:
            if isinstance(c, dict):
                out.append((label, c))
    return out


def apply_defaults(pod: Obj, limit_ranges: list[Obj]) -> bool:
    """Fill container defaults into ``pod``; True if anything was set."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return False
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    for lr in limit_ranges:
        for item in _items(lr):
            if item.get("type") == "Container":
                r, lim = container_defaults(item)
                requests.update(r)
                limits.update(lim)
    if not requests and not limits:
        return False
    notes: list[str] = []
    for label, container in _containers(spec):
        resources = container.get("resources")
        if not isinstance(resources, dict):
            resources = container["resources"] = {}
        set_limits = _fill(resources, "limits", limits)
        set_requests = _fill(resources, "requests", requests)
        name = container.get("name", "")
        if set_requests:
            notes.append(f"{', '.join(sorted(set_requests))} request for {label} {name}")
        if set_limits:
            notes.append(f"{', '.join(sorted(set_limits))} limit for {label} {name}")
    if not notes:
        return False
    meta = pod.setdefault("metadata", {})
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict):
        annotations = meta["annotations"] = {}
    annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)
    status = pod.get("status")
    if isinstance(status, dict) and "qosClass" in status:
        status["qosClass"] = qos_class(spec)
    return True


def _fill(resources: Obj, part: str, defaults: Mapping[str, Any]) -> list[str]:
    if not defaults:
        return []
    current = resources.get(part)
    if not isinstance(current, dict):
        current = resources[part] = {}
    added = [k for k in defaults if k not in current]
    for key in added:
        current[key] = defaults[key]
    if not current:
        resources.pop(part, None)
    return added


def _value(quantities: Resources, name: str) -> tuple[Decimal | None, object]:
    raw = quantities.get(name)
    return (parse(raw) if raw is not None else None), raw


def _text(raw: object) -> str:
    value = parse(raw)
    return format_like(value, raw) if value is not None else str(raw)


def _bound_error(
    kind: str,
    name: str,
    enforced: object,
    minimum: bool,
    checked: Sequence[tuple[str, Resources]],
) -> str:
    """The first of ``checked`` (("request", requests) or ("limit", limits)) beyond the
    ``min``/``max`` bound ``enforced`` of ``name``; the first must be specified."""
    bound = parse(enforced)
    if bound is None:
        return ""
    head = f"{'minimum' if minimum else 'maximum'} {name} usage per {kind} is {_text(enforced)}"
    for index, (what, quantities) in enumerate(checked):
        value, raw = _value(quantities, name)
        if value is None:
            if index == 0:
                return f"{head}.  No {what} is specified"
            continue
        if (milli(value) < milli(bound)) if minimum else (milli(value) > milli(bound)):
            return f"{head}, but {what} is {_text(raw)}"
    return ""


def min_error(
    kind: str, name: str, enforced: object, requests: Resources, limits: Resources
) -> str:
    return _bound_error(kind, name, enforced, True, [("request", requests), ("limit", limits)])


def max_error(
    kind: str, name: str, enforced: object, requests: Resources, limits: Resources
) -> str:
    return _bound_error(kind, name, enforced, False, [("limit", limits), ("request", requests)])


def max_request_error(kind: str, name: str, enforced: object, requests: Resources) -> str:
    return _bound_error(kind, name, enforced, False, [("request", requests)])


def ratio_error(
    kind: str, name: str, enforced: object, requests: Resources, limits: Resources
) -> str:
    bound = parse(enforced)
    req, _ = _value(requests, name)
    lim, _ = _value(limits, name)
    if bound is None:
        return ""
    head = f"{name} max limit to request ratio per {kind} is {_text(enforced)}"
    if req is None or milli(req) == 0:
        return f"{head}, but no request is specified or request is 0"
    if lim is None or milli(lim) == 0:
        return f"{head}, but no limit is specified or limit is 0"
    ratio = Decimal(milli(lim)) / Decimal(milli(req))
    if ratio * 1000 > milli(bound):
        return f"{head}, but provided ratio is {float(ratio):f}"
    return ""


Check = Callable[[str, str, object, Resources, Resources], str]


def _bounds(
    item: Mapping[str, Any],
    kind: str,
    requests: Resources,
    limits: Resources,
    checks: Sequence[tuple[str, Check]] = (
        ("min", min_error),
        ("max", max_error),
        ("maxLimitRequestRatio", ratio_error),
    ),
) -> list[str]:
    """The violations of ``item``'s bounds (each field of ``checks``, by resource name)."""
    errors = []
    for field, check in checks:
        for name, enforced in sorted(_mapping(item.get(field)).items()):
            errors.append(check(kind, name, enforced, requests, limits))
    return [e for e in errors if e]


def _max_request(
    kind: str, name: str, enforced: object, requests: Resources, _limits: Resources
) -> str:
    return max_request_error(kind, name, enforced, requests)


def _pod_totals(spec: Mapping[str, Any], part: str) -> dict[str, Decimal]:
    total: dict[str, Decimal] = {}
    # Containers run together (their values add up), init containers one by one
    # (the largest counts).
    for field, summed in (("containers", True), ("initContainers", False)):
        for container in spec.get(field) or []:
            resources = _mapping(_mapping(container).get("resources"))
            for name, raw in _mapping(resources.get(part)).items():
                value = parse(raw)
                if value is None:
                    continue
                current = total.get(name, Decimal(0))
                if summed:
                    total[name] = current + value
                elif value > current:
                    total[name] = value
    return total


def _plain(total: dict[str, Decimal]) -> dict[str, str]:
    """Pod totals as quantities (memory-like sums divisible by 1024 print as binary)."""
    return {
        k: format_quantity(v, k != "cpu" and v >= 1024 and v % 1024 == 0) for k, v in total.items()
    }


def pod_errors(pod: Obj, limit_ranges: list[Obj]) -> list[str]:
    spec = _mapping(pod.get("spec"))
    errors: list[str] = []
    for lr in limit_ranges:
        for item in _items(lr):
            if item.get("type") == "Container":
                for _, container in _containers(spec):
                    resources = _mapping(container.get("resources"))
                    requests = _mapping(resources.get("requests"))
                    limits = _mapping(resources.get("limits"))
                    errors.extend(_bounds(item, "Container", requests, limits))
            elif item.get("type") == "Pod":
                requests = _plain(_pod_totals(spec, "requests"))
                limits = _plain(_pod_totals(spec, "limits"))
                errors.extend(_bounds(item, "Pod", requests, limits))
    return errors


def claim_errors(claim: Obj, limit_ranges: list[Obj]) -> list[str]:
    requests = _mapping(_mapping(_mapping(claim.get("spec")).get("resources")).get("requests"))
    errors: list[str] = []
    kind = "PersistentVolumeClaim"
    for lr in limit_ranges:
        for item in _items(lr):
            if item.get("type") == kind:
                checks = (("min", min_error), ("max", _max_request))
                errors.extend(_bounds(item, kind, requests, {}, checks))
    return errors


def aggregate(errors: list[str]) -> str:
    """``utilerrors.NewAggregate``: one message bare, several in brackets."""
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


class LimitRanger:
    """Applies the namespace's LimitRanges to pods and claims."""

    def __init__(self, backend: Backend, caches: WatchCaches | None = None) -> None:
        self.backend = backend
        self.caches = caches

    async def admit(self, attrs: Attributes) -> Admitted:
        done = Admitted()
        if attrs.group or attrs.subresource or attrs.obj is None or not attrs.namespace:
            return done
        is_pod = attrs.resource == "pods" and attrs.operation is Operation.CREATE
        is_claim = attrs.resource == "persistentvolumeclaims" and attrs.operation in (
            Operation.CREATE,
            Operation.UPDATE,
        )
        if not is_pod and not is_claim:
            return done
        ranges = await namespace_objects(
            self.backend, LIMIT_RANGES_PREFIX, attrs.namespace, self.caches
        )
        if not ranges:
            return done
        if is_pod:
            apply_defaults(attrs.obj, ranges)
            errors = pod_errors(attrs.obj, ranges)
        else:
            errors = claim_errors(attrs.obj, ranges)
        if errors:
            raise Forbidden(attrs.resource, attrs.name, aggregate(errors))
        return done

    async def released(self, attrs: Attributes) -> None:
        return None
