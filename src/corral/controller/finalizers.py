"""Adding and removing a finalizer on a live object, safely against concurrent writers.

A controller that must clean up before an object goes (release a cloud
resource, delete a downstream copy) puts its finalizer on the object; the API
server then only marks the object deleted (``deletionTimestamp``) until every
finalizer is removed. Both writes are merge patches that name the object's
resourceVersion (a precondition), so they never clobber another writer's finalizers: on
`Conflict` the object is read again and the patch recomputed.
"""

from __future__ import annotations

from typing import Any

from corral.client import Client, PatchType, ResourceRef
from corral.controller.indexer import Obj
from corral.machinery.status import Conflict, NotFound

MAX_ATTEMPTS = 10


def finalizers_of(obj: Obj) -> list[str]:
    found = (obj.get("metadata") or {}).get("finalizers") or []
    return [str(f) for f in found]


def is_deleting(obj: Obj) -> bool:
    """Whether the object is marked for deletion (waiting for its finalizers)."""
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


async def add_finalizer(client: Client, resource: ResourceRef, obj: Obj, name: str) -> Obj:
    """`obj` with finalizer `name` (patched on the server unless already there)."""
    return await _edit(client, resource, obj, name, add=True)


async def remove_finalizer(
    client: Client, resource: ResourceRef, obj: Obj, name: str
) -> Obj | None:
    """Remove finalizer `name`; the object after, or None when it is gone."""
    try:
        return await _edit(client, resource, obj, name, add=False)
    except NotFound:
        return None


async def _edit(client: Client, resource: ResourceRef, obj: Obj, name: str, *, add: bool) -> Obj:
    meta = obj.get("metadata") or {}
    namespace, obj_name = meta.get("namespace") or "", str(meta.get("name") or "")
    current = obj
    for _ in range(MAX_ATTEMPTS):
        have = finalizers_of(current)
        if (name in have) == add:
            return current
        wanted = [*have, name] if add else [f for f in have if f != name]
        version = (current.get("metadata") or {}).get("resourceVersion")
        # A merge patch naming the resourceVersion is a precondition: 409 if stale.
        patch: dict[str, Any] = {"metadata": {"resourceVersion": version, "finalizers": wanted}}
        try:
            return await client.patch(
                resource, obj_name, patch, patch_type=PatchType.MERGE, namespace=namespace
            )
        except Conflict:
            current = await client.get(resource, obj_name, namespace=namespace)
    raise Conflict(
        resource.resource, obj_name, f"finalizer {name!r}: too many conflicts", group=resource.group
    )
