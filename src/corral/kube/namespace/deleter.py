"""Emptying a terminating namespace, then letting the API server delete it.

``kubectl delete namespace x`` only marks the namespace (``deletionTimestamp``,
phase ``Terminating``); the API server keeps it while ``spec.finalizers``
holds ``kubernetes``. This is the other half, Kubernetes' namespaced
resources deleter: discover every namespaced resource that can be deleted
(custom resources included), delete each collection in the namespace with
propagation ``Background`` (``deletecollection``, or list and delete each
object where that verb is missing), list what is left, report it in the
namespace's conditions, and — once nothing is left — remove ``kubernetes``
from ``spec.finalizers`` through the ``finalize`` subresource.

Content that cannot go yet is not an error: objects with finalizers of their
own, and pods still in their termination grace period, make `delete` answer
an estimate (seconds) instead, and the controller looks again later. Any
other failure is an error and is retried with back-off.
"""

from __future__ import annotations

import copy
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from corral.client import Client, ClientError, PropagationPolicy, ResourceRef
from corral.kube.apiresources import APIResource, Discovered, discover
from corral.kube.namespace.conditions import ConditionUpdater
from corral.kube.resources import NAMESPACES, PODS
from corral.machinery.status import Conflict, MethodNotAllowed, NotFound, StatusError

log = logging.getLogger(__name__)

FINALIZER = "kubernetes"
"""The namespace finalizer (``spec.finalizers``) this controller owns."""
FINALIZER_ESTIMATE = 15
"""Seconds assumed for objects with finalizers to go (Kubernetes' default estimate)."""
_CONFLICT_ATTEMPTS = 10

Obj = dict[str, Any]


class NamespaceDeletionError(Exception):
    """Some content could not be deleted (or discovered); retried with back-off."""


@dataclass(slots=True)
class _Remaining:
    estimate: int = 0
    count: int = 0
    finalizers: Counter[str] = field(default_factory=Counter)


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _finalizers(obj: Obj) -> list[str]:
    return [str(f) for f in (obj.get("spec") or {}).get("finalizers") or []]


class NamespaceDeleter:
    """Deletes the content of terminating namespaces (one call per pass)."""

    def __init__(self, client: Client, now: Callable[[], datetime] | None = None) -> None:
        self.client = client
        self.now = now or (lambda: datetime.now(UTC))

    async def delete(self, name: str) -> int:
        """One pass over namespace ``name``: 0 when done (or nothing to do), else an estimate.

        Raises `NamespaceDeletionError` when some content could not be handled.
        """
        try:
            ns = await self.client.get(NAMESPACES, name)
        except NotFound:
            return 0
        meta = ns.get("metadata") or {}
        if not meta.get("deletionTimestamp"):
            return 0
        marked = await self._ensure_terminating(ns)
        if marked is None or FINALIZER not in _finalizers(marked):
            return 0
        estimate, marked = await self._delete_all_content(marked)
        if estimate > 0:
            return estimate
        await self._finalize(marked)
        return 0

    # -- the namespace itself ------------------------------------------------

    async def _ensure_terminating(self, ns: Obj) -> Obj | None:
        for _ in range(_CONFLICT_ATTEMPTS):
            if (ns.get("status") or {}).get("phase") == "Terminating":
                return ns
            changed = copy.deepcopy(ns)
            changed.setdefault("status", {})["phase"] = "Terminating"
            try:
                return await self.client.update(NAMESPACES, changed, subresource="status")
            except Conflict:
                ns = await self._reread(ns)
            except NotFound:
                return None
        raise NamespaceDeletionError("too many conflicts marking the namespace Terminating")

    async def _finalize(self, ns: Obj) -> None:
        for _ in range(_CONFLICT_ATTEMPTS):
            have = _finalizers(ns)
            if FINALIZER not in have:
                return
            changed = copy.deepcopy(ns)
            changed.setdefault("spec", {})["finalizers"] = sorted(
                {f for f in have if f != FINALIZER}
            )
            try:
                await self.client.update(NAMESPACES, changed, subresource="finalize")
                return
            except NotFound:
                return
            except Conflict:
                ns = await self._reread(ns)

    async def _reread(self, ns: Obj) -> Obj:
        meta = ns.get("metadata") or {}
        latest = await self.client.get(NAMESPACES, str(meta.get("name")))
        if (latest.get("metadata") or {}).get("uid") != meta.get("uid"):
            raise NamespaceDeletionError("namespace uid has changed across retries")
        return latest

    # -- its content ---------------------------------------------------------

    async def _delete_all_content(self, ns: Obj) -> tuple[int, Obj]:
        """Delete what can be deleted; the estimate and the namespace as last written."""
        meta = ns["metadata"]
        name = str(meta["name"])
        deleted_at = _parse_time(str(meta.get("deletionTimestamp") or "")) or self.now()
        errors: list[str] = []
        conditions = ConditionUpdater(now=self.now())
        try:
            found = await discover(self.client)
        except (StatusError, ClientError) as exc:  # /api or /apis themselves failed
            found = Discovered()
            errors.append(str(exc) or type(exc).__name__)
            conditions.discovery_failed(errors[-1])
        if found.failed:
            message = found.failure_message()
            errors.append(message)
            conditions.discovery_failed(
                f"Discovery failed for some groups, {len(found.failed)} failing: {message}"
            )
        if found.unparsable:
            message = found.parsing_message()
            errors.append(message)
            conditions.group_version_failed(message)
        estimate = 0
        remaining: dict[ResourceRef, int] = {}
        held: Counter[str] = Counter()
        for resource in found.resources:
            if not resource.ref.namespaced or not resource.supports("delete"):
                continue
            try:
                left = await self._delete_resource(resource, name, deleted_at)
            except (StatusError, ClientError, NamespaceDeletionError) as exc:
                message = str(exc) or type(exc).__name__
                errors.append(message)
                conditions.content_failed(message)
                continue
            estimate = max(estimate, left.estimate)
            if left.count:
                remaining[resource.ref] = left.count
                held.update(left.finalizers)
        conditions.content_totals(remaining, held)
        if conditions.update(ns):
            try:
                ns = await self.client.update(NAMESPACES, ns, subresource="status")
            except (StatusError, ClientError) as exc:
                log.warning("namespace %s: could not update its conditions: %s", name, exc)
        if errors:
            raise NamespaceDeletionError("; ".join(errors))
        return estimate, ns

    async def _delete_resource(
        self, resource: APIResource, namespace: str, deleted_at: datetime
    ) -> _Remaining:
        ref = resource.ref
        estimate = 0
        if ref.group == "" and ref.resource == "pods":
            estimate = await self._pods_estimate(namespace, deleted_at)
        collected = False
        if resource.supports("deletecollection"):
            collected = await self._delete_collection(ref, namespace)
        if not collected:
            await self._delete_each(resource, namespace)
        items = await self._list(resource, namespace)
        if items is None or not items:
            return _Remaining(estimate if items is None else 0)
        finalizers: Counter[str] = Counter()
        for item in items:
            finalizers.update(str(f) for f in (item.get("metadata") or {}).get("finalizers") or [])
        if estimate:
            return _Remaining(estimate, len(items), finalizers)
        if finalizers:
            return _Remaining(FINALIZER_ESTIMATE, len(items), finalizers)
        raise NamespaceDeletionError(
            f"unexpected items still remain in namespace: {namespace} for gvr: {_gvr_text(ref)}"
        )

    async def _delete_collection(self, ref: ResourceRef, namespace: str) -> bool:
        try:
            await self.client.delete_collection(
                ref, namespace=namespace, propagation_policy=PropagationPolicy.BACKGROUND
            )
        except (MethodNotAllowed, NotFound):
            return False
        return True

    async def _delete_each(self, resource: APIResource, namespace: str) -> None:
        for item in await self._list(resource, namespace) or []:
            item_name = str((item.get("metadata") or {}).get("name") or "")
            try:
                await self.client.delete(
                    resource.ref,
                    item_name,
                    namespace=namespace,
                    propagation_policy=PropagationPolicy.BACKGROUND,
                )
            except (MethodNotAllowed, NotFound):
                continue

    async def _list(self, resource: APIResource, namespace: str) -> list[Obj] | None:
        """The objects left in the namespace; None when the resource cannot be listed."""
        if not resource.supports("list"):
            return None
        try:
            page = await self.client.list(resource.ref, namespace=namespace)
        except (MethodNotAllowed, NotFound):
            return None
        return [i for i in page.get("items") or [] if isinstance(i, dict)]

    async def _pods_estimate(self, namespace: str, deleted_at: datetime) -> int:
        """The longest grace period of the namespace's running pods, if not yet elapsed."""
        page = await self.client.list(PODS, namespace=namespace)
        estimate = 0
        for pod in page.get("items") or []:
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
            if isinstance(grace, int) and grace > estimate:
                estimate = grace
        if (self.now() - deleted_at).total_seconds() >= estimate:
            return 0
        return estimate


def _gvr_text(ref: ResourceRef) -> str:
    """A GroupVersionResource as Go's ``%v`` prints it."""
    return f"{ref.group}/{ref.version}, Resource={ref.resource}"
