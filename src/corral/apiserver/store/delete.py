"""Deleting objects: preconditions, finalizers, namespaces, collections.

As in Kubernetes' generic registry:

- ``preconditions.uid`` / ``preconditions.resourceVersion`` in the
  DeleteOptions must match the stored object (409 Conflict otherwise).
- An object with finalizers is not removed: it gets ``deletionTimestamp``
  (and ``deletionGracePeriodSeconds: 0``) and stays until an update empties
  its finalizers (see `update`); the answer is the object, 200.
- ``default``, ``kube-system`` and ``kube-public`` may not be deleted (403).
- A Namespace is marked instead: ``deletionTimestamp`` and ``status.phase:
  Terminating``; it goes once ``spec.finalizers`` and ``metadata.finalizers``
  are both empty (the namespace controller's job).
- Otherwise the key is deleted with compare-and-swap; the answer is the
  deleted object for kinds that return it (pods, services) and a success
  ``Status`` naming the object for the others.
"""

from __future__ import annotations

from typing import Any

from corral.apiserver.registry import ResourceType
from corral.apiserver.store.meta import now_rfc3339
from corral.apiserver.store.objects import Stored, encode_object, storage_errors, stored_from_kv
from corral.machinery.status import Conflict, Forbidden, NotFound
from corral.storage import Backend, KeyNotFoundError, RevisionMismatchError

_RETRIES = 16
#: Namespaces Kubernetes refuses to delete (the NamespaceLifecycle admission plugin).
UNDELETABLE_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})


def check_preconditions(rt: ResourceType, obj: dict[str, Any], options: dict[str, Any]) -> None:
    pre = options.get("preconditions") or {}
    if not isinstance(pre, dict):
        return
    meta = obj["metadata"]
    uid, rv = pre.get("uid"), pre.get("resourceVersion")
    name = meta.get("name", "")
    if uid and uid != meta.get("uid"):
        raise Conflict(
            rt.resource,
            name,
            f"Precondition failed: UID in precondition: {uid}, "
            f"UID in object meta: {meta.get('uid')}",
            group=rt.group,
        )
    if rv and rv != meta.get("resourceVersion"):
        raise Conflict(
            rt.resource,
            name,
            "Precondition failed: ResourceVersion in precondition: "
            f"{rv}, ResourceVersion in object meta: {meta.get('resourceVersion')}",
            group=rt.group,
        )


def _is_namespace(rt: ResourceType) -> bool:
    return rt.group == "" and rt.resource == "namespaces"


def _pending(rt: ResourceType, obj: dict[str, Any]) -> bool:
    """True if deleting ``obj`` must wait (finalizers, or a namespace's spec finalizers)."""
    if obj["metadata"].get("finalizers"):
        return True
    return _is_namespace(rt) and bool((obj.get("spec") or {}).get("finalizers"))


def success_status(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """The ``Status`` a DELETE answers with for kinds that do not return the object."""
    meta = obj["metadata"]
    details = {"name": meta.get("name", ""), "group": rt.group, "kind": rt.resource}
    details["uid"] = meta.get("uid", "")
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {k: v for k, v in details.items() if v},
    }


async def delete_object(
    backend: Backend,
    rt: ResourceType,
    namespace: str,
    name: str,
    options: dict[str, Any],
    *,
    dry_run: bool = False,
) -> tuple[Stored, bool]:
    """Delete (or mark for deletion); returns the object and whether it is gone."""
    if _is_namespace(rt) and name in UNDELETABLE_NAMESPACES:
        raise Forbidden("namespaces", name, "this namespace may not be deleted")
    key = rt.key(namespace, name)
    for _ in range(_RETRIES):
        kv = await backend.get(key)
        if kv is None:
            raise NotFound(rt.resource, name, group=rt.group)
        current = stored_from_kv(rt, kv)
        check_preconditions(rt, current.obj, options)
        if _pending(rt, current.obj):
            if current.obj["metadata"].get("deletionTimestamp"):
                return current, False
            try:
                marked = await _mark(backend, rt, namespace, name, kv.mod_revision, dry_run)
            except Conflict:
                continue
            return marked, False
        if dry_run:
            return current, True
        try:
            deleted = await backend.delete(key, expected_revision=kv.mod_revision)
        except RevisionMismatchError:
            continue
        except KeyNotFoundError:
            raise NotFound(rt.resource, name, group=rt.group) from None
        return stored_from_kv(rt, deleted), True
    raise Conflict(rt.resource, name, group=rt.group)


async def _mark(
    backend: Backend, rt: ResourceType, namespace: str, name: str, revision: int, dry_run: bool
) -> Stored:
    """Set deletionTimestamp (server-owned, so written directly, compare-and-swap)."""
    key = rt.key(namespace, name)
    kv = await backend.get(key)
    if kv is None or kv.mod_revision != revision:
        raise Conflict(rt.resource, name, group=rt.group)
    obj = stored_from_kv(rt, kv).obj
    meta = obj["metadata"]
    meta["deletionTimestamp"] = now_rfc3339()
    meta["deletionGracePeriodSeconds"] = 0
    if _is_namespace(rt):
        obj.setdefault("status", {})["phase"] = "Terminating"
    if dry_run:
        return Stored.unsaved(obj)
    with storage_errors(rt, name):
        written = await backend.update(
            key, encode_object(rt, obj), expected_revision=revision, ttl=rt.ttl
        )
    return stored_from_kv(rt, written)
