"""The service account controller: a ``default`` ServiceAccount in every active namespace.

Pods that name no service account run as ``default``, and admission refuses
a pod whose service account does not exist, so every namespace needs one as
soon as it is created and again whenever someone deletes it. Kubernetes'
``serviceaccount`` controller does exactly that (keyed by namespace, queued
when a namespace appears or changes and when its ``default`` account is
deleted); it skips namespaces that are not ``Active``.

``build`` also starts the root CA publisher (`corral.kube.rootcacert`), which
Corral runs under the same ``--controllers`` name: both make a fresh
namespace usable by pods.
"""

from __future__ import annotations

import logging

from corral.controller import Informer
from corral.controller.indexer import Obj
from corral.kube.context import KubeContext, Runnable
from corral.kube.enqueue import enqueue, new_controller
from corral.kube.resources import NAMESPACES, SERVICE_ACCOUNTS
from corral.kube.rootcacert import CONFIG_MAP_NAME, build_publisher, ignorable_create_error
from corral.machinery.status import AlreadyExists, Forbidden, NotFound

log = logging.getLogger(__name__)

ENSURED = ("default",)
"""The service accounts every active namespace gets."""


class ServiceAccountsController:
    """Creates the missing `ENSURED` service accounts of one namespace per pass."""

    def __init__(self, ctx: KubeContext, accounts: Informer) -> None:
        self.client = ctx.client
        self.accounts = accounts

    async def sync(self, key: str, namespace: Obj | None) -> None:
        if namespace is None or (namespace.get("status") or {}).get("phase") != "Active":
            return
        if (namespace.get("metadata") or {}).get("deletionTimestamp"):
            return
        for name in ENSURED:
            if self.accounts.get(f"{key}/{name}") is not None:
                continue
            body = {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": key},
            }
            try:
                await self.client.create(SERVICE_ACCOUNTS, body, namespace=key)
            except (AlreadyExists, NotFound, Forbidden) as exc:
                if not ignorable_create_error(exc):
                    raise


def build(ctx: KubeContext) -> list[Runnable]:
    namespaces = ctx.informers.informer(NAMESPACES)
    accounts = ctx.informers.informer(SERVICE_ACCOUNTS)
    controller = new_controller(ctx, "serviceaccount", namespaces)
    controller.on_change("ensure-default", ServiceAccountsController(ctx, accounts).sync)

    def deleted(obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        if meta.get("name") in ENSURED and meta.get("namespace"):
            enqueue(controller, str(meta["namespace"]))

    accounts.on_delete(deleted)
    if not ctx.options.ca_pem:
        log.warning("no cluster CA given: ConfigMap %s is not published", CONFIG_MAP_NAME)
        return [controller]
    return [controller, build_publisher(ctx)]
