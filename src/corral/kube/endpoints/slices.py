"""The EndpointSlice controller: a Service's pods as discovery.k8s.io/v1 EndpointSlices.

Kubernetes' ``endpointslice`` controller, per Service key:

- Services without a selector are left alone (their slices, if any, are
  someone else's). A Service that is gone has its managed slices deleted
  (they also carry an owner reference, so the garbage collector would).
- Every pod with an IP that has not finished is an endpoint, terminating
  ones included: ``addresses: [podIP]``, ``conditions`` — ``ready`` (Ready
  and not terminating, or ``publishNotReadyAddresses``), ``serving``
  (Ready), ``terminating`` — ``nodeName``, ``targetRef``, and
  ``hostname`` for a headless Service's pods with matching ``subdomain``.
- Endpoints with the same resolved ports share slices, at most
  `MAX_ENDPOINTS_PER_SLICE` (100) each, sorted by address. Existing
  managed slices with the same ports are reused in name order (updated only
  when they differ), surplus ones deleted, missing ones created with
  ``generateName: <service>-``.
- Slices carry ``addressType: IPv4``, the labels
  ``kubernetes.io/service-name`` and ``endpointslice.kubernetes.io/managed-by:
  endpointslice-controller.k8s.io`` plus the Service's own labels (and
  ``service.kubernetes.io/headless`` for a headless Service), a controller
  owner reference to the Service, and
  ``endpoints.kubernetes.io/last-change-trigger-time`` on every write.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from corral.client import ResourceRef
from corral.controller import Controller, Informer, object_key
from corral.kube.context import KubeContext, Runnable
from corral.kube.endpoints.pods import (
    TRIGGER_TIME_ANNOTATION,
    endpoint_ports,
    is_ready,
    now_nano,
    pod_fields,
    pods_of,
    service_labels,
    service_selector,
    should_be_endpoint,
    watch_pods_for,
)
from corral.kube.enqueue import enqueue
from corral.kube.podstatus import is_pod_ready
from corral.kube.resources import PODS, SERVICES
from corral.machinery.status import NotFound

log = logging.getLogger(__name__)

Obj = dict[str, Any]
ENDPOINT_SLICES = ResourceRef("discovery.k8s.io", "v1", "endpointslices", kind="EndpointSlice")
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
MAX_ENDPOINTS_PER_SLICE = 100
SERVICE_INDEX = "service-name"


def _endpoint(service: Mapping[str, Any], pod: Mapping[str, Any]) -> Obj:
    terminating = bool((pod.get("metadata") or {}).get("deletionTimestamp"))
    serving = is_ready(service, pod)
    publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    endpoint: Obj = {
        "addresses": [pod["status"]["podIP"]],
        "conditions": {
            "ready": publish or (is_pod_ready(pod) and not terminating),
            "serving": serving,
            "terminating": terminating,
        },
    }
    endpoint.update(pod_fields(service, pod))
    return endpoint


def _ports_key(ports: list[Obj]) -> tuple[tuple[str, int, str], ...]:
    return tuple(
        sorted((str(p.get("name", "")), int(p.get("port", 0)), str(p["protocol"])) for p in ports)
    )


def desired_groups(service: Mapping[str, Any], pods: list[Obj]) -> dict[tuple[Any, ...], Any]:
    """Ports key → (ports, endpoints sorted by address)."""
    has_ports = bool((service.get("spec") or {}).get("ports"))
    groups: dict[tuple[Any, ...], tuple[list[Obj], list[Obj]]] = {}
    for pod in pods:
        if not should_be_endpoint(pod, include_terminating=True):
            continue
        ports = endpoint_ports(service, pod)
        if has_ports and not ports:
            continue
        ports.sort(key=lambda p: (str(p.get("name", "")), p["port"], p["protocol"]))
        _, endpoints = groups.setdefault(_ports_key(ports), (ports, []))
        endpoints.append(_endpoint(service, pod))
    for _, endpoints in groups.values():
        endpoints.sort(key=lambda e: (e["addresses"][0], e["targetRef"]["uid"]))
    return groups


def desired_labels(service: Mapping[str, Any]) -> dict[str, str]:
    labels = service_labels(service)
    labels[SERVICE_NAME_LABEL] = str((service.get("metadata") or {}).get("name", ""))
    labels[MANAGED_BY_LABEL] = MANAGED_BY
    return labels


def owner_reference(service: Mapping[str, Any]) -> Obj:
    meta = service.get("metadata") or {}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _slice_ports_key(slice_: Mapping[str, Any]) -> tuple[Any, ...]:
    ports = [p for p in slice_.get("ports") or [] if isinstance(p, dict)]
    return _ports_key([{**p, "protocol": p.get("protocol", "TCP")} for p in ports])


class EndpointSliceController:
    """Keeps each selecting Service's managed EndpointSlices equal to its pods."""

    def __init__(self, ctx: KubeContext, pods: Informer, slices: Informer) -> None:
        self.client = ctx.client
        self.pods = pods
        self.slices = slices

    def managed(self, namespace: str, name: str) -> list[Obj]:
        found = [
            s
            for s in self.slices.by_index(SERVICE_INDEX, f"{namespace}/{name}")
            if ((s.get("metadata") or {}).get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY
        ]
        return sorted(found, key=lambda s: str(s["metadata"]["name"]))

    async def _delete(self, slice_: Obj) -> None:
        meta = slice_["metadata"]
        with contextlib.suppress(NotFound):
            await self.client.delete(ENDPOINT_SLICES, meta["name"], namespace=meta["namespace"])

    async def sync(self, key: str, service: Obj | None) -> None:
        namespace, _, name = key.partition("/")
        existing = self.managed(namespace, name)
        if service is None:
            for slice_ in existing:
                await self._delete(slice_)
            return
        if service_selector(service) is None:
            return
        if (service.get("metadata") or {}).get("deletionTimestamp"):
            return
        labels = desired_labels(service)
        owner = owner_reference(service)
        by_ports: dict[tuple[Any, ...], list[Obj]] = {}
        for slice_ in existing:
            by_ports.setdefault(_slice_ports_key(slice_), []).append(slice_)
        groups = desired_groups(service, pods_of(service, self.pods))
        if not groups:
            # No endpoints: one empty placeholder slice, as Kubernetes keeps.
            groups = {(): ([], [])}
        plan: list[tuple[Obj | None, list[Obj], list[Obj]]] = []
        for ports_key, (ports, endpoints) in sorted(groups.items()):
            reusable = by_ports.pop(ports_key, [])
            chunks = [
                endpoints[i : i + MAX_ENDPOINTS_PER_SLICE]
                for i in range(0, len(endpoints), MAX_ENDPOINTS_PER_SLICE)
            ] or [[]]
            for chunk in chunks:
                plan.append((reusable.pop(0) if reusable else None, ports, chunk))
            by_ports.setdefault((), []).extend(reusable)
        # Slices no port set wants any more are rewritten in place of new ones.
        spare = [s for group in by_ports.values() for s in group]
        for current, ports, chunk in plan:
            if current is None and spare:
                current = spare.pop(0)
            await self._write(namespace, name, current, ports, chunk, labels, owner)
        for slice_ in spare:
            await self._delete(slice_)

    async def _write(
        self,
        namespace: str,
        service_name: str,
        current: Obj | None,
        ports: list[Obj],
        endpoints: list[Obj],
        labels: dict[str, str],
        owner: Obj,
    ) -> None:
        if current is not None:
            meta = current.get("metadata") or {}
            same = (
                (current.get("endpoints") or []) == endpoints
                and (current.get("ports") or []) == ports
                and (meta.get("labels") or {}) == labels
                and current.get("addressType") == "IPv4"
            )
            if same:
                return
        annotations = dict(((current or {}).get("metadata") or {}).get("annotations") or {})
        annotations[TRIGGER_TIME_ANNOTATION] = now_nano()
        meta_out: Obj = {
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [owner],
        }
        body: Obj = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": meta_out,
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": ports,
        }
        if current is None:
            meta_out["generateName"] = f"{service_name}-"
            await self.client.create(ENDPOINT_SLICES, body, namespace=namespace)
            return
        body["metadata"] = {**current["metadata"], **meta_out}
        await self.client.update(ENDPOINT_SLICES, body, namespace=namespace)


def build(ctx: KubeContext) -> list[Runnable]:
    """The ``endpointslice`` controller."""
    services = ctx.informers.informer(SERVICES)
    pods = ctx.informers.informer(PODS)
    slices = ctx.informers.informer(ENDPOINT_SLICES)

    def service_of(slice_: Obj) -> list[str]:
        meta = slice_.get("metadata") or {}
        name = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        return [f"{meta.get('namespace', '')}/{name}"] if name else []

    slices.add_indexer(SERVICE_INDEX, service_of)
    controller = Controller("endpointslice", services, workers=ctx.options.workers)
    controller.on_change("sync", EndpointSliceController(ctx, pods, slices).sync)
    watch_pods_for(controller, services, pods, object_key)

    def slice_changed(slice_: Obj) -> None:
        labels = (slice_.get("metadata") or {}).get("labels") or {}
        if labels.get(MANAGED_BY_LABEL) != MANAGED_BY:
            return
        for key in service_of(slice_):
            enqueue(controller, key)

    slices.on_delete(slice_changed)
    slices.on_update(lambda _old, new: slice_changed(new))
    return [controller]
