"""Deleting objects: options, preconditions, then remove, mark or keep.

As in Kubernetes' generic registry:

- The DeleteOptions are checked first (`deleteoptions`: 400/422).
- ``preconditions.uid`` / ``preconditions.resourceVersion`` in the
  DeleteOptions must match the stored object (409 Conflict otherwise).
- ``default``, ``kube-system`` and ``kube-public`` may not be deleted (403).
- What the delete does to the object — graceful deletion of pods, the
  garbage collector's finalizers, marking objects that finalizers hold,
  Namespaces turning ``Terminating`` — is decided in `deletion`; a mark is
  written with compare-and-swap (nothing when it changes nothing), and the
  answer is the object, 200.
- Otherwise the key is deleted with compare-and-swap; the answer is the
  deleted object for kinds that return it (pods, services) and a success
  ``Status`` naming the object for the others.
- ``dryRun`` (query or body): everything is checked and decided, nothing is
  written.
"""

from __future__ import annotations

import copy
from typing import Any

from corral.apiserver.registry import ResourceType
from corral.apiserver.store.deleteoptions import parse_delete_options
from corral.apiserver.store.deletion import Outcome, is_namespace, plan_delete
from corral.apiserver.store.objects import Stored, encode_object, stored_from_kv
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
    """Delete (or mark for deletion); returns the object and whether it is gone.

    ``options`` is the DeleteOptions JSON (checked here: 400/422); its
    ``dryRun`` counts as well as ``dry_run``.
    """
    parsed = parse_delete_options(options)
    dry_run = dry_run or parsed.dry_run
    if is_namespace(rt) and name in UNDELETABLE_NAMESPACES:
        raise Forbidden("namespaces", name, "this namespace may not be deleted")
    key = rt.key(namespace, name)
    for _ in range(_RETRIES):
        kv = await backend.get(key)
        if kv is None:
            raise NotFound(rt.resource, name, group=rt.group)
        current = stored_from_kv(rt, kv)
        check_preconditions(rt, current.obj, options)
        obj = copy.deepcopy(current.obj)
        outcome = plan_delete(rt, obj, parsed)
        if outcome is Outcome.KEEP:
            return current, False
        if outcome is Outcome.MARK:
            value = encode_object(rt, obj)
            if value == kv.value:
                return current, False
            if dry_run:
                return Stored.unsaved(obj), False
            try:
                written = await backend.update(
                    key, value, expected_revision=kv.mod_revision, ttl=rt.ttl
                )
            except RevisionMismatchError:
                continue
            except KeyNotFoundError:
                raise NotFound(rt.resource, name, group=rt.group) from None
            return stored_from_kv(rt, written), False
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
