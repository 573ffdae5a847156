"""Which pods back a Service, and on which ports: shared by both endpoint controllers.

Kubernetes' Endpoints and EndpointSlice controllers agree on these rules
(``pkg/controller/util/endpoint``), so they live in one place:

- A Service is managed only if it has a ``spec.selector``; its pods are
  those of its namespace whose labels match.
- A pod is an endpoint once it has ``status.podIP`` and has not finished
  (Succeeded/Failed); a pod being deleted counts only where terminating
  endpoints are reported (EndpointSlices).
- Ready is the pod's ``Ready`` condition; ``publishNotReadyAddresses``
  makes every endpoint ready.
- A service port's ``targetPort`` is a number, or the name of a container
  port (matching the protocol); a pod that has no such port is left out of
  that port's endpoints.
- Both list an endpoint's pod the same way (`pod_fields`) and label what
  they write with the Service's labels (`service_labels`).
- Pod events find their Services by label selector (old and new labels on
  an update), so changing a pod's labels moves it between Services.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from corral.controller import NAMESPACE_INDEX, Controller, Informer
from corral.kube.enqueue import enqueue
from corral.kube.podstatus import is_pod_ready
from corral.machinery.labels import Selector, from_set

Obj = dict[str, Any]

TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"
HEADLESS_LABEL = "service.kubernetes.io/headless"


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def service_selector(service: Mapping[str, Any]) -> Selector | None:
    """The Service's pod selector; None when it has none (not managed)."""
    selector = _mapping(service.get("spec")).get("selector")
    if not isinstance(selector, Mapping) or not selector:
        return None
    return from_set({str(k): str(v) for k, v in selector.items()})


def pods_of(service: Mapping[str, Any], pods: Informer) -> list[Obj]:
    """The pods of the Service's namespace its selector matches."""
    selector = service_selector(service)
    if selector is None:
        return []
    namespace = str(_mapping(service.get("metadata")).get("namespace", ""))
    return [
        pod
        for pod in pods.by_index(NAMESPACE_INDEX, namespace)
        if selector.matches(_mapping(_mapping(pod.get("metadata")).get("labels")))
    ]


def should_be_endpoint(pod: Mapping[str, Any], include_terminating: bool) -> bool:
    """``ShouldPodBeInEndpoints``."""
    status = _mapping(pod.get("status"))
    if not status.get("podIP"):
        return False
    if status.get("phase") in ("Succeeded", "Failed"):
        return False
    terminating = bool(_mapping(pod.get("metadata")).get("deletionTimestamp"))
    return include_terminating or not terminating


def is_headless(service: Mapping[str, Any]) -> bool:
    return _mapping(service.get("spec")).get("clusterIP") == "None"


def is_ready(service: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """Ready for the Service: the pod is, or the Service publishes unready addresses."""
    return bool(_mapping(service.get("spec")).get("publishNotReadyAddresses")) or is_pod_ready(pod)


def find_port(pod: Mapping[str, Any], service_port: Mapping[str, Any]) -> int | None:
    """``podutil.FindPort``: the pod's port for the service port, None if it has none."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int) and not isinstance(target, bool):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    spec = _mapping(pod.get("spec"))
    for container in spec.get("containers") or []:
        for port in _mapping(container).get("ports") or []:
            port = _mapping(port)
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                number = port.get("containerPort")
                return number if isinstance(number, int) else None
    return None


def endpoint_ports(service: Mapping[str, Any], pod: Mapping[str, Any]) -> list[Obj]:
    """The pod's ``EndpointPort``s for the Service's ports (those it resolves)."""
    out = []
    for raw in _mapping(service.get("spec")).get("ports") or []:
        sp = _mapping(raw)
        number = find_port(pod, sp)
        if number is None:
            continue
        port: Obj = {"port": number, "protocol": sp.get("protocol") or "TCP"}
        if sp.get("name"):
            port["name"] = sp["name"]
        if sp.get("appProtocol"):
            port["appProtocol"] = sp["appProtocol"]
        out.append(port)
    return out


def target_ref(pod: Mapping[str, Any]) -> Obj:
    meta = _mapping(pod.get("metadata"))
    return {
        "kind": "Pod",
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
    }


def hostname_for(service: Mapping[str, Any], pod: Mapping[str, Any]) -> str:
    """A headless Service's pod with ``hostname`` and ``subdomain`` = the Service's name."""
    spec = _mapping(pod.get("spec"))
    name = _mapping(service.get("metadata")).get("name")
    if is_headless(service) and spec.get("hostname") and spec.get("subdomain") == name:
        return str(spec["hostname"])
    return ""


def pod_fields(service: Mapping[str, Any], pod: Mapping[str, Any]) -> Obj:
    """What an Endpoints address and an EndpointSlice endpoint both say of their pod:
    ``hostname`` (see `hostname_for`), ``nodeName`` (when set) and ``targetRef``."""
    fields: Obj = {}
    hostname = hostname_for(service, pod)
    if hostname:
        fields["hostname"] = hostname
    node = _mapping(pod.get("spec")).get("nodeName")
    if node:
        fields["nodeName"] = node
    fields["targetRef"] = target_ref(pod)
    return fields


def service_labels(service: Mapping[str, Any]) -> dict[str, str]:
    """The Service's labels, plus `HEADLESS_LABEL` for a headless one (and only then)."""
    labels = _mapping(_mapping(service.get("metadata")).get("labels"))
    out = {str(k): str(v) for k, v in labels.items()}
    if is_headless(service):
        out[HEADLESS_LABEL] = ""
    else:
        out.pop(HEADLESS_LABEL, None)
    return out


def now_nano() -> str:
    """RFC 3339 with nanoseconds, trailing zeros dropped (Go's ``RFC3339Nano``)."""
    moment = datetime.now(UTC)
    fraction = f"{moment.microsecond:06d}000".rstrip("0")
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{fraction}Z" if fraction else f"{stamp}Z"


def watch_pods_for(
    controller: Controller, services: Informer, pods: Informer, key_of: Callable[[Obj], str]
) -> None:
    """Queue the Services whose selectors match a pod that changed (old or new labels)."""

    def matching(pod: Obj) -> list[str]:
        meta = _mapping(pod.get("metadata"))
        labels = _mapping(meta.get("labels"))
        out = []
        for service in services.by_index(NAMESPACE_INDEX, str(meta.get("namespace", ""))):
            selector = service_selector(service)
            if selector is not None and selector.matches(labels):
                out.append(key_of(service))
        return out

    def one(pod: Obj) -> None:
        for key in matching(pod):
            enqueue(controller, key)

    def changed(old: Obj, new: Obj) -> None:
        for key in set(matching(old)) | set(matching(new)):
            enqueue(controller, key)

    pods.on_add(one)
    pods.on_update(changed)
    pods.on_delete(one)
