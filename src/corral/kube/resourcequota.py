"""The resource quota controller: each ResourceQuota's ``status.hard`` and ``status.used``.

Kubernetes' ``resourcequota`` controller, per quota key:

- ``status.hard`` becomes ``spec.hard``; ``status.used`` gets, for every
  hard resource, the sum of what the namespace's objects use
  (`corral.machinery.quota.usage`, the same evaluators admission charges
  with), counting only objects the quota's scopes select. Values print as
  Kubernetes prints quantities (``500m``, ``1Gi``, ``0``).
- The status is written only when it changed, with the quota's
  resourceVersion (a concurrent admission charge makes it conflict and the
  key comes back to recount).
- It recounts when a quota changes, when an object of a counted kind is
  updated or deleted in its namespace (replenishment, as Kubernetes does:
  a create was charged by admission already, and recounting on creates
  could lower ``used`` from a cache that has not seen the newest ones yet,
  letting a burst of creates overshoot), and every `RESYNC` seconds (Kubernetes'
  ``--resource-quota-sync-period``), which also corrects drift left by
  charges whose writes failed.

Pods, Services, ConfigMaps, Secrets, PersistentVolumeClaims and
ResourceQuotas are watched from the start; any other kind a quota counts
(``count/<resource>.<group>``) is listed, and followed by a shared informer
from then on, the first time a quota names it (its version from discovery;
a kind the server does not serve counts 0).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from corral.client import ResourceRef
from corral.controller import NAMESPACE_INDEX, Controller, Informer, Result
from corral.kube.context import KubeContext, Runnable
from corral.kube.enqueue import enqueue
from corral.kube.resources import CONFIG_MAPS, PERSISTENT_VOLUME_CLAIMS, PODS, SECRETS, SERVICES
from corral.machinery.quota import (
    ZERO,
    covers,
    format_usage,
    matches_scopes,
    parse,
    quota_scopes,
    usage,
)
from corral.machinery.status import StatusError

log = logging.getLogger(__name__)

Obj = dict[str, Any]
RESOURCE_QUOTAS = ResourceRef("", "v1", "resourcequotas", kind="ResourceQuota")
#: How often every quota is recounted (seconds).
RESYNC = 300.0
WATCHED = (
    PODS,
    SERVICES,
    CONFIG_MAPS,
    SECRETS,
    PERSISTENT_VOLUME_CLAIMS,
    RESOURCE_QUOTAS,
)
_LEGACY = {
    "services": "services",
    "configmaps": "configmaps",
    "secrets": "secrets",
    "persistentvolumeclaims": "persistentvolumeclaims",
    "replicationcontrollers": "replicationcontrollers",
    "resourcequotas": "resourcequotas",
}


def kind_of(name: str) -> tuple[str, str] | None:
    """The (group, resource) whose objects quota resource ``name`` counts."""
    if name.startswith("count/"):
        resource, _, group = name[len("count/") :].partition(".")
        return (group, resource) if resource else None
    for group, resource in (
        ("", "pods"),
        ("", "services"),
        ("", "persistentvolumeclaims"),
        ("", "configmaps"),
        ("", "secrets"),
        ("", "replicationcontrollers"),
        ("", "resourcequotas"),
    ):
        if covers(group, resource, name):
            return group, resource
    return None


def compute_used(
    quota: Mapping[str, Any], objects_of: Mapping[tuple[str, str], list[Obj]]
) -> dict[str, str]:
    """``status.used`` of ``quota`` given the namespace's objects per (group, resource)."""
    hard = (quota.get("spec") or {}).get("hard") or {}
    scopes = quota_scopes(quota)
    old_used = ((quota.get("status") or {}).get("used")) or {}
    used: dict[str, str] = {}
    for name in sorted(hard):
        kind = kind_of(name)
        total: Decimal = ZERO
        if kind is not None:
            group, resource = kind
            for obj in objects_of.get(kind, []):
                if matches_scopes(group, resource, obj, scopes):
                    total += usage(group, resource, obj).get(name, ZERO)
        example = old_used.get(name) if parse(old_used.get(name)) == total else None
        used[name] = format_usage(name, total, example)
    return used


class ResourceQuotaController:
    """Recounts one quota per pass and writes its status when it changed."""

    def __init__(self, ctx: KubeContext) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.informers: dict[tuple[str, str], Informer] = {
            (ref.group, ref.resource): ctx.informers.informer(ref) for ref in WATCHED
        }
        self.controller: Controller | None = None
        self._versions: dict[str, str] = {"": "v1"}

    def watch(self, controller: Controller, quotas: Informer) -> None:
        """Queue a namespace's quotas when one of its counted objects changes."""
        self.controller = controller
        self.quotas = quotas
        for kind, informer in self.informers.items():
            if kind != ("", "resourcequotas"):
                self._hook(informer)

    def _hook(self, informer: Informer) -> None:
        def changed(obj: Obj) -> None:
            namespace = (obj.get("metadata") or {}).get("namespace")
            if not namespace or self.controller is None:
                return
            for quota in self.quotas.by_index(NAMESPACE_INDEX, str(namespace)):
                meta = quota.get("metadata") or {}
                enqueue(self.controller, f"{meta.get('namespace')}/{meta.get('name')}")

        informer.on_update(lambda _old, new: changed(new))
        informer.on_delete(changed)

    async def _version(self, group: str) -> str | None:
        if group not in self._versions:
            try:
                doc = await self.client.get_path(f"/apis/{group}")
            except StatusError:
                return None
            preferred = (doc.get("preferredVersion") or {}).get("version")
            if not isinstance(preferred, str):
                return None
            self._versions[group] = preferred
        return self._versions[group]

    async def _objects(self, kind: tuple[str, str], namespace: str) -> list[Obj]:
        informer = self.informers.get(kind)
        if informer is not None and informer.has_synced:
            return informer.by_index(NAMESPACE_INDEX, namespace)
        if informer is not None:
            ref = informer.resource
        else:
            version = await self._version(kind[0])
            if version is None:
                return []
            ref = ResourceRef(kind[0], version, kind[1])
        try:
            items = [item async for item in self.client.list_items(ref, namespace=namespace)]
        except StatusError:
            return []  # not served here: nothing to count
        if informer is None:
            # Served: follow it from now on, so changes trigger a recount.
            self.informers[kind] = self.ctx.informers.informer(ref)
            self._hook(self.informers[kind])
        return items

    async def sync(self, key: str, quota: Obj | None) -> Result | None:
        if quota is None:
            return None
        namespace = str(quota["metadata"].get("namespace", ""))
        hard = (quota.get("spec") or {}).get("hard") or {}
        kinds = {k for k in (kind_of(name) for name in hard) if k is not None}
        objects = {kind: await self._objects(kind, namespace) for kind in kinds}
        status = dict(quota.get("status") or {})
        wanted = {"hard": dict(hard), "used": compute_used(quota, objects)}
        if status.get("hard") != wanted["hard"] or status.get("used") != wanted["used"]:
            body = dict(quota)
            body["status"] = {**status, **wanted}
            await self.client.update(RESOURCE_QUOTAS, body, subresource="status")
        return Result(requeue_after=RESYNC)


def build(ctx: KubeContext) -> list[Runnable]:
    """The ``resourcequota`` controller."""
    quotas = ctx.informers.informer(RESOURCE_QUOTAS)
    controller = Controller("resourcequota", quotas, workers=ctx.options.workers)
    syncer = ResourceQuotaController(ctx)
    syncer.watch(controller, quotas)
    controller.on_change("recount", syncer.sync)
    return [controller]
