"""The root CA publisher: ConfigMap ``kube-root-ca.crt`` in every namespace, kept current.

Pods verify the API server with the CA bundle projected from this ConfigMap
(``ca.crt``); Kubernetes' ``root-ca-cert-publisher`` keeps one in every
namespace, re-creates it when deleted and rewrites it when edited or when the
CA changes. Same here: keys are namespaces, queued when a namespace appears
or changes and when the ConfigMap of a namespace is changed or deleted.
Namespaces being deleted are left alone (the API server refuses new content
there anyway).
"""

from __future__ import annotations

import copy
from typing import Any

from corral.controller import Controller, Informer
from corral.controller.indexer import Obj
from corral.kube.context import KubeContext
from corral.kube.enqueue import enqueue, new_controller
from corral.kube.resources import CONFIG_MAPS, NAMESPACES
from corral.machinery.status import AlreadyExists, Forbidden, NotFound

CONFIG_MAP_NAME = "kube-root-ca.crt"
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
    "guaranteed across distributions of Kubernetes clusters."
)


def is_terminating(namespace: Obj) -> bool:
    return bool((namespace.get("metadata") or {}).get("deletionTimestamp")) or (
        (namespace.get("status") or {}).get("phase") == "Terminating"
    )


def ignorable_create_error(exc: Exception) -> bool:
    """A create that may fail harmlessly: already there, namespace gone or terminating."""
    if isinstance(exc, AlreadyExists | NotFound):
        return True
    return isinstance(exc, Forbidden) and "being terminated" in str(exc)


class RootCAPublisher:
    """Keeps ``kube-root-ca.crt`` with ``ca.crt`` = the cluster CA in each namespace."""

    def __init__(self, ctx: KubeContext, configmaps: Informer) -> None:
        self.client = ctx.client
        self.ca = ctx.options.ca_pem.decode()
        self.configmaps = configmaps

    async def sync(self, key: str, namespace: Obj | None) -> None:
        if namespace is None or is_terminating(namespace):
            return
        current = self.configmaps.get(f"{key}/{CONFIG_MAP_NAME}")
        data = {"ca.crt": self.ca}
        if current is None:
            body: dict[str, Any] = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": CONFIG_MAP_NAME,
                    "namespace": key,
                    "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION},
                },
                "data": data,
            }
            try:
                await self.client.create(CONFIG_MAPS, body, namespace=key)
            except (AlreadyExists, NotFound, Forbidden) as exc:
                if not ignorable_create_error(exc):
                    raise
            return
        annotations = (current.get("metadata") or {}).get("annotations") or {}
        if current.get("data") == data and DESCRIPTION_ANNOTATION in annotations:
            return
        wanted = copy.deepcopy(current)
        wanted["data"] = data
        wanted.pop("binaryData", None)
        wanted["metadata"].setdefault("annotations", {})[DESCRIPTION_ANNOTATION] = DESCRIPTION
        try:
            # Carries the cached resourceVersion: a stale one is a Conflict, retried.
            await self.client.update(CONFIG_MAPS, wanted, namespace=key)
        except NotFound:
            return  # deleted meanwhile: its delete event queues the namespace again


def build_publisher(ctx: KubeContext) -> Controller:
    namespaces = ctx.informers.informer(NAMESPACES)
    configmaps = ctx.informers.informer(CONFIG_MAPS)
    controller = new_controller(ctx, "root-ca-cert-publisher", namespaces)
    controller.on_change("publish", RootCAPublisher(ctx, configmaps).sync)

    def changed(obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        if meta.get("name") == CONFIG_MAP_NAME and meta.get("namespace"):
            enqueue(controller, str(meta["namespace"]))

    configmaps.on_update(lambda _old, new: changed(new))
    configmaps.on_delete(changed)
    return controller
