"""The Endpoints controller: one ``Endpoints`` object per Service with a selector.

Kubernetes' ``endpoints`` controller, per Service key:

- Service gone → its Endpoints object is deleted. No selector → left
  alone (someone else manages its Endpoints, as for ``kubernetes``).
- Otherwise the Endpoints named as the Service lists its pods
  (`pods.should_be_endpoint`, terminating pods left out): ``addresses``
  for ready pods, ``notReadyAddresses`` for the others (all ready with
  ``publishNotReadyAddresses``), each with ``ip``, ``nodeName``,
  ``targetRef`` (and ``hostname`` for a headless Service's pods with
  matching ``subdomain``); ports resolved per pod by number or name.
  Addresses with the same ports share a subset; subsets, addresses and
  ports are sorted so an unchanged set writes nothing. A headless Service
  without ports lists its addresses with no ports.
- Labels are the Service's (plus ``service.kubernetes.io/headless`` for a
  headless one); every write sets
  ``endpoints.kubernetes.io/last-change-trigger-time``. Beyond 1000
  addresses the list is truncated (ready ones kept first) and annotated
  ``endpoints.kubernetes.io/over-capacity: truncated``.

Pod changes queue the Services that select the pod; deleting an Endpoints
object queues its Service so it is recreated.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from corral.controller import Controller, Informer, object_key
from corral.kube.context import KubeContext, Runnable
from corral.kube.endpoints.pods import (
    TRIGGER_TIME_ANNOTATION,
    endpoint_ports,
    is_headless,
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
from corral.kube.resources import ENDPOINTS, PODS, SERVICES
from corral.machinery.status import AlreadyExists, NotFound

log = logging.getLogger(__name__)

Obj = dict[str, Any]
MAX_ADDRESSES = 1000
OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity"


def _address(service: Mapping[str, Any], pod: Mapping[str, Any]) -> Obj:
    return {"ip": pod["status"]["podIP"], **pod_fields(service, pod)}


def _port_key(port: Mapping[str, Any]) -> tuple[str, int, str]:
    return (str(port.get("name", "")), int(port.get("port", 0)), str(port.get("protocol", "")))


def desired_subsets(service: Mapping[str, Any], pods: list[Obj]) -> tuple[list[Obj], bool]:
    """The Service's subsets, and whether they were truncated at `MAX_ADDRESSES`."""
    has_ports = bool((service.get("spec") or {}).get("ports"))
    groups: dict[tuple[tuple[str, int, str], ...], tuple[list[Obj], list[Obj], list[Obj]]] = {}
    for pod in pods:
        if not should_be_endpoint(pod, include_terminating=False):
            continue
        ports = endpoint_ports(service, pod)
        if has_ports and not ports:
            continue
        if not has_ports and not is_headless(service):
            continue
        ports.sort(key=_port_key)
        key = tuple(_port_key(p) for p in ports)
        ready, unready, _ = groups.setdefault(key, ([], [], ports))
        (ready if is_ready(service, pod) else unready).append(_address(service, pod))
    total = sum(len(r) + len(u) for r, u, _ in groups.values())
    truncated = total > MAX_ADDRESSES
    budget = MAX_ADDRESSES
    subsets = []
    for key in sorted(groups):
        ready, unready, ports = groups[key]
        ready.sort(key=lambda a: (a["ip"], a["targetRef"]["uid"]))
        unready.sort(key=lambda a: (a["ip"], a["targetRef"]["uid"]))
        if truncated:
            ready, unready = ready[:budget], unready[: max(0, budget - len(ready[:budget]))]
            budget -= len(ready) + len(unready)
        subset: Obj = {}
        if ready:
            subset["addresses"] = ready
        if unready:
            subset["notReadyAddresses"] = unready
        if not subset:
            continue
        if ports:
            subset["ports"] = ports
        subsets.append(subset)
    return subsets, truncated


def desired_labels(service: Mapping[str, Any]) -> dict[str, str]:
    return service_labels(service)


class EndpointsController:
    """Keeps each selecting Service's Endpoints object equal to its pods."""

    def __init__(self, ctx: KubeContext, pods: Informer, endpoints: Informer) -> None:
        self.client = ctx.client
        self.pods = pods
        self.endpoints = endpoints

    async def sync(self, key: str, service: Obj | None) -> None:
        namespace, _, name = key.partition("/")
        if service is None:
            if self.endpoints.get(key) is not None:
                with contextlib.suppress(NotFound):
                    await self.client.delete(ENDPOINTS, name, namespace=namespace)
            return
        if service_selector(service) is None:
            return
        if (service.get("metadata") or {}).get("deletionTimestamp"):
            return
        subsets, truncated = desired_subsets(service, pods_of(service, self.pods))
        labels = desired_labels(service)
        current = self.endpoints.get(key)
        annotations = dict(((current or {}).get("metadata") or {}).get("annotations") or {})
        if truncated:
            annotations[OVER_CAPACITY] = "truncated"
        else:
            annotations.pop(OVER_CAPACITY, None)
        if current is not None:
            meta = current.get("metadata") or {}
            same = (
                (current.get("subsets") or []) == subsets
                and (meta.get("labels") or {}) == labels
                and (meta.get("annotations") or {}).get(OVER_CAPACITY)
                == annotations.get(OVER_CAPACITY)
            )
            if same:
                return
        annotations[TRIGGER_TIME_ANNOTATION] = now_nano()
        body: Obj = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": labels,
                "annotations": annotations,
            },
            "subsets": subsets,
        }
        if current is None:
            try:
                await self.client.create(ENDPOINTS, body, namespace=namespace)
            except AlreadyExists:
                fresh = await self.client.get(ENDPOINTS, name, namespace=namespace)
                body["metadata"]["resourceVersion"] = fresh["metadata"]["resourceVersion"]
                await self.client.update(ENDPOINTS, body, namespace=namespace)
            return
        body["metadata"] = {**current["metadata"], **body["metadata"]}
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        await self.client.update(ENDPOINTS, body, namespace=namespace)


def build(ctx: KubeContext) -> list[Runnable]:
    """The ``endpoints`` controller."""
    services = ctx.informers.informer(SERVICES)
    pods = ctx.informers.informer(PODS)
    endpoints = ctx.informers.informer(ENDPOINTS)
    controller = Controller("endpoints", services, workers=ctx.options.workers)
    controller.on_change("sync", EndpointsController(ctx, pods, endpoints).sync)
    watch_pods_for(controller, services, pods, object_key)

    def endpoints_deleted(obj: Obj) -> None:
        key = object_key(obj)
        if services.get(key) is not None:
            enqueue(controller, key)

    endpoints.on_delete(endpoints_deleted)
    return [controller]
