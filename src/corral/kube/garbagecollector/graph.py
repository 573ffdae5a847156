"""The dependents index: owner uid → the objects that name it in their ownerReferences.

When an owner goes, the collector must find its dependents without scanning
every cache; when an owner is deleted in the foreground it must know which
dependents still block it. Kubernetes keeps a whole graph of nodes for this;
here the informers already cache every object, so the index keeps only what
they cannot answer: for each owner uid, the (resource, cache key) of each
dependent. An object costs one small tuple per owner it names, and nothing
when it has no owner.
"""

from __future__ import annotations

from collections.abc import Iterable

from corral.client import ResourceRef

Dependent = tuple[ResourceRef, str]
"""A dependent: its resource and its informer cache key (``namespace/name`` or ``name``)."""


class DependentsIndex:
    """Owner uid → dependents, updated from informer events."""

    def __init__(self) -> None:
        self._by_owner: dict[str, set[Dependent]] = {}

    def __len__(self) -> int:
        """How many owner uids are named by some dependent."""
        return len(self._by_owner)

    def update(
        self, dependent: Dependent, old_owners: Iterable[str], new_owners: Iterable[str]
    ) -> None:
        """Move ``dependent`` from the owners it named to those it names now."""
        old, new = set(old_owners), set(new_owners)
        for uid in old - new:
            found = self._by_owner.get(uid)
            if found is not None:
                found.discard(dependent)
                if not found:
                    del self._by_owner[uid]
        for uid in new - old:
            self._by_owner.setdefault(uid, set()).add(dependent)

    def dependents(self, owner_uid: str) -> list[Dependent]:
        return sorted(self._by_owner.get(owner_uid, ()), key=lambda d: (str(d[0]), d[1]))

    def has_dependents(self, owner_uid: str) -> bool:
        return bool(self._by_owner.get(owner_uid))

    def drop_resource(self, resource: ResourceRef) -> None:
        """Forget every dependent of ``resource`` (no longer served or watched)."""
        for uid in list(self._by_owner):
            kept = {d for d in self._by_owner[uid] if d[0] != resource}
            if kept:
                self._by_owner[uid] = kept
            else:
                del self._by_owner[uid]
