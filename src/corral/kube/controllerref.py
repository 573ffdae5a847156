"""Controller references: who controls an object, adoption and release.

Kubernetes' ``ControllerRefManager``: a controller (ReplicaSet, Deployment…)
*claims* the objects its selector matches. An orphan that matches is
**adopted** (a controller ``ownerReference`` is added); an object it controls
that no longer matches is **released** (its reference is removed); an object
controlled by someone else is left alone. Adoption is refused while the
owner is being deleted, and re-checked against a fresh read of the owner
(``canAdopt``) so an owner recreated under the same name never adopts its
predecessor's objects. The patches are strategic merge patches on
``metadata.ownerReferences`` (merged by ``uid``) that also carry the
object's uid, exactly as Kubernetes sends them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from corral.client import Client, PatchType, ResourceRef
from corral.controller import Informer
from corral.machinery.labels import Selector
from corral.machinery.status import NotFound, StatusError

log = logging.getLogger(__name__)

Obj = dict[str, Any]


#: An informer index of objects by their controller's uid; orphans are filed
#: under ``orphan/<namespace>``. A claim then looks at what the owner already
#: controls and at its namespace's orphans, not at every object of the
#: namespace (which made each sync O(objects) and a rollout O(objects²)).
CONTROLLER_INDEX = "controller-uid"


def _by_controller(obj: Obj) -> list[str]:
    ref = controller_of(obj)
    if ref is not None:
        return [str(ref.get("uid") or "")]
    return [f"orphan/{(obj.get('metadata') or {}).get('namespace', '')}"]


def index_by_controller(informer: Informer) -> None:
    """Give a (shared) informer `CONTROLLER_INDEX`, once."""
    if not informer.indexer.has_index(CONTROLLER_INDEX):
        informer.add_indexer(CONTROLLER_INDEX, _by_controller)


def controlled_by(informer: Informer, uid: object) -> list[Obj]:
    """The objects whose controller has ``uid`` (needs `index_by_controller`)."""
    return informer.by_index(CONTROLLER_INDEX, str(uid or ""))


def claim_candidates(informer: Informer, owner: Mapping[str, Any]) -> list[Obj]:
    """Everything a claim by ``owner`` may keep, adopt or release: what it controls
    and the orphans of its namespace (needs `index_by_controller`)."""
    meta = owner.get("metadata") or {}
    orphans = informer.by_index(CONTROLLER_INDEX, f"orphan/{meta.get('namespace', '')}")
    return [*controlled_by(informer, meta.get("uid")), *orphans]


def controller_of(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ownerReference with ``controller: true``, if any (``metav1.GetControllerOf``)."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(ref, Mapping) and ref.get("controller") is True:
            return ref
    return None


def is_controlled_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == (owner.get("metadata") or {}).get("uid")


def controller_ref(owner: Mapping[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    """The ownerReference a controller puts on what it creates or adopts."""
    meta = owner.get("metadata") or {}
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


CanAdopt = Callable[[], Awaitable[None]]


def fresh_owner_check(client: Client, resource: ResourceRef, owner: Mapping[str, Any]) -> CanAdopt:
    """``RecheckDeletionTimestamp`` on a live read: raise unless the owner is still this one."""
    meta = owner.get("metadata") or {}
    checked: list[bool] = []

    async def check() -> None:
        if checked:
            return
        fresh = await client.get(resource, meta["name"], namespace=meta.get("namespace"))
        fresh_meta = fresh.get("metadata") or {}
        if fresh_meta.get("uid") != meta.get("uid"):
            raise RuntimeError(f"original {resource.resource} {meta['name']} is gone")
        if fresh_meta.get("deletionTimestamp"):
            raise RuntimeError(f"{resource.resource} {meta['name']} is being deleted")
        checked.append(True)

    return check


class ControllerRefManager:
    """Claims objects of ``resource`` for ``owner`` (adopt matching orphans, release strays)."""

    def __init__(
        self,
        client: Client,
        resource: ResourceRef,
        owner: Obj,
        owner_api_version: str,
        owner_kind: str,
        selector: Selector,
        can_adopt: CanAdopt,
    ) -> None:
        self.client = client
        self.resource = resource
        self.owner = owner
        self.ref = controller_ref(owner, owner_api_version, owner_kind)
        self.selector = selector
        self.can_adopt = can_adopt
        meta = owner.get("metadata") or {}
        self.uid = meta.get("uid")
        self.namespace = meta.get("namespace", "")
        self.owner_deleting = bool(meta.get("deletionTimestamp"))

    async def claim(self, objects: list[Obj]) -> list[Obj]:
        """The objects this owner controls after adopting and releasing (errors are raised
        after every object was tried, like ``utilerrors.NewAggregate``)."""
        claimed: list[Obj] = []
        errors: list[Exception] = []
        for obj in objects:
            try:
                if await self._claim_one(obj):
                    claimed.append(obj)
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]
        return claimed

    async def _claim_one(self, obj: Obj) -> bool:
        meta = obj.get("metadata") or {}
        labels = meta.get("labels") or {}
        ref = controller_of(obj)
        if ref is not None:
            if ref.get("uid") != self.uid:
                return False  # someone else's
            if self.selector.matches(labels):
                return True
            if self.owner_deleting:
                return False
            await self._release(obj)
            return False
        # An orphan.
        if self.owner_deleting or not self.selector.matches(labels):
            return False
        if meta.get("deletionTimestamp") or meta.get("namespace", "") != self.namespace:
            return False
        try:
            await self._adopt(obj)
        except NotFound:
            return False  # gone meanwhile
        return True

    async def _patch_owner_refs(self, obj: Obj, owner_refs: list[Obj]) -> None:
        """Strategic-merge ``owner_refs`` into ``obj``'s owner references (the uid
        precondition makes a new object under the same name a 422)."""
        meta = obj["metadata"]
        await self.client.patch(
            self.resource,
            meta["name"],
            {"metadata": {"ownerReferences": owner_refs, "uid": meta.get("uid")}},
            patch_type=PatchType.STRATEGIC,
            namespace=meta.get("namespace"),
        )

    async def _adopt(self, obj: Obj) -> None:
        await self.can_adopt()
        await self._patch_owner_refs(obj, [self.ref])

    async def _release(self, obj: Obj) -> None:
        try:
            await self._patch_owner_refs(obj, [{"$patch": "delete", "uid": self.uid}])
        except NotFound:
            pass  # gone: nothing to release
        except StatusError as exc:
            if exc.code == 422:
                return  # the uid changed: a new object under the name, not ours
            raise
