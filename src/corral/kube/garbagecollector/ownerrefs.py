"""Reading ``metadata.ownerReferences`` and editing them safely.

The garbage collector reads owner references on every event of every object,
so reading is a plain function over the dict; writing (dropping references to
owners that are gone, or clearing ``blockOwnerDeletion`` to break a cycle) is
a JSON merge patch naming the object's resourceVersion, retried against a
fresh read on `Conflict`, so another writer's change is never lost. A merge
patch works for built-in and custom resources alike (a strategic one would
not).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from corral.client import Client, PatchType, ResourceRef
from corral.machinery.status import Conflict, NotFound

Obj = dict[str, Any]

FOREGROUND = "foregroundDeletion"
"""The owner finalizer of a Foreground deletion: dependents go first."""
ORPHAN = "orphan"
"""The owner finalizer of an Orphan deletion: dependents stay, their references go."""

_ATTEMPTS = 10


@dataclass(frozen=True, slots=True)
class OwnerRef:
    """The parts of an owner reference the collector uses."""

    api_version: str
    kind: str
    name: str
    uid: str
    block: bool

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]


def meta(obj: Obj) -> dict[str, Any]:
    found = obj.get("metadata")
    return found if isinstance(found, dict) else {}


def uid_of(obj: Obj) -> str:
    return str(meta(obj).get("uid") or "")


def finalizers(obj: Obj) -> list[str]:
    return [str(f) for f in meta(obj).get("finalizers") or []]


def is_deleting(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def is_deleting_dependents(obj: Obj) -> bool:
    """Marked deleted with ``foregroundDeletion``: waiting for its dependents to go."""
    return is_deleting(obj) and FOREGROUND in finalizers(obj)


def owner_refs(obj: Obj) -> list[OwnerRef]:
    """The well-formed owner references of ``obj`` (malformed ones are skipped)."""
    out = []
    for ref in meta(obj).get("ownerReferences") or []:
        if not isinstance(ref, dict):
            continue
        api_version, kind = ref.get("apiVersion"), ref.get("kind")
        name, uid = ref.get("name"), ref.get("uid")
        if all(isinstance(v, str) and v for v in (api_version, kind, name, uid)):
            block = ref.get("blockOwnerDeletion") is True
            out.append(OwnerRef(str(api_version), str(kind), str(name), str(uid), block))
    return out


def owner_uids(obj: Obj) -> frozenset[str]:
    return frozenset(r.uid for r in owner_refs(obj))


def blocks(obj: Obj, owner_uid: str) -> bool:
    """Whether ``obj`` names ``owner_uid`` with ``blockOwnerDeletion: true``."""
    return any(r.uid == owner_uid and r.block for r in owner_refs(obj))


async def remove_owner_refs(
    client: Client, resource: ResourceRef, obj: Obj, uids: Collection[str]
) -> Obj | None:
    """Drop the references to ``uids``; the object after, None if it is gone."""

    def edit(refs: list[Any]) -> list[Any]:
        return [r for r in refs if not (isinstance(r, dict) and r.get("uid") in uids)]

    return await _edit_refs(client, resource, obj, edit)


async def unblock_owner_refs(client: Client, resource: ResourceRef, obj: Obj) -> Obj | None:
    """Set ``blockOwnerDeletion: false`` on every reference (breaks Foreground cycles)."""

    def edit(refs: list[Any]) -> list[Any]:
        out = []
        for ref in refs:
            if isinstance(ref, dict) and ref.get("blockOwnerDeletion") is True:
                ref = {**ref, "blockOwnerDeletion": False}
            out.append(ref)
        return out

    return await _edit_refs(client, resource, obj, edit)


async def _edit_refs(
    client: Client,
    resource: ResourceRef,
    obj: Obj,
    edit: Callable[[list[Any]], list[Any]],
) -> Obj | None:
    current = obj
    uid = uid_of(obj)
    namespace, name = str(meta(obj).get("namespace") or ""), str(meta(obj).get("name") or "")
    for _ in range(_ATTEMPTS):
        have = list(meta(current).get("ownerReferences") or [])
        wanted = edit(have)
        if wanted == have:
            return current
        patch = {
            "metadata": {
                "resourceVersion": meta(current).get("resourceVersion"),
                "ownerReferences": wanted or None,
            }
        }
        try:
            return await client.patch(
                resource, name, patch, patch_type=PatchType.MERGE, namespace=namespace
            )
        except NotFound:
            return None
        except Conflict:
            try:
                current = await client.get(resource, name, namespace=namespace)
            except NotFound:
                return None
            if uid_of(current) != uid:
                return None  # another object of that name now
    raise Conflict(resource.resource, name, "owner references: too many conflicts")
