"""ControllerRevisions: the template history of StatefulSets and DaemonSets.

A StatefulSet or DaemonSet has no ReplicaSets to remember its past
templates; Kubernetes keeps each distinct template as a
``apps/v1 ControllerRevision`` owned by the set, named ``<set>-<hash>``,
numbered by ``revision``, whose ``data`` is a strategic merge patch that
puts the template back::

    {"spec": {"template": {..., "$patch": "replace"}}}

That patch is what ``kubectl rollout undo`` applies and what ``kubectl
rollout history`` lists (with the ``kubernetes.io/change-cause``
annotation, copied from the set). This module decides, once for both
controllers:

- the patch of a set (`template_patch`) and the set a revision describes
  (`apply_revision`);
- equality of revisions (their ``data``, normalized the way Go's typed
  comparison sees nil and empty alike);
- the next revision number, and which revisions may be deleted when the
  history grows beyond ``revisionHistoryLimit`` (`revisions_to_delete`:
  never one a live pod or the set's status still names);
- `History`: creating a revision (a hash collision with a different
  revision bumps ``status.collisionCount`` and retries), moving an existing
  revision to the newest number (a rollback to an old template), deleting.

The revision *hash* differs by kind, as in Kubernetes: a StatefulSet hashes
the revision's data (`data_hash`), a DaemonSet its pod template
(`corral.kube.templatehash.compute_hash`). Both use FNV-1a and the same
safe alphabet.
"""

from __future__ import annotations

import copy
import json
import struct
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from typing import Any

from corral.client import Client
from corral.kube.controllerref import controller_ref
from corral.kube.resources import CONTROLLER_REVISIONS
from corral.kube.templatehash import fnv32a, normalize, safe_encode
from corral.machinery.status import AlreadyExists, NotFound

Obj = dict[str, Any]

#: The label a revision carries with its hash (``ControllerRevisionHashLabel``).
REVISION_HASH_LABEL = "controller.kubernetes.io/hash"
#: The label pods carry naming their revision (``ControllerRevisionHashLabelKey``).
POD_REVISION_LABEL = "controller-revision-hash"
#: A name prefix longer than this is cut so ``<prefix>-<hash>`` stays a valid name.
_MAX_PREFIX = 223
#: How many hash collisions `History.create` survives before giving up.
_MAX_COLLISIONS = 16


def template_patch(obj: Mapping[str, Any]) -> Obj:
    """The revision data of a set: a patch replacing ``spec.template`` with its own."""
    template = copy.deepcopy(dict((obj.get("spec") or {}).get("template") or {}))
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def revision_template(revision: Mapping[str, Any]) -> Obj:
    """The pod template a revision holds (without the ``$patch`` directive)."""
    data = revision.get("data") or {}
    template = dict(((data.get("spec") or {}).get("template")) or {})
    template.pop("$patch", None)
    return template


def apply_revision(obj: Mapping[str, Any], revision: Mapping[str, Any]) -> Obj:
    """A copy of ``obj`` whose ``spec.template`` is the revision's."""
    out = copy.deepcopy(dict(obj))
    out.setdefault("spec", {})["template"] = copy.deepcopy(revision_template(revision))
    return out


def canonical(value: Any) -> bytes:
    return json.dumps(
        normalize(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def data_hash(data: Any, collision_count: int | None = None) -> str:
    """``HashControllerRevision``: FNV-1a of the data (and the collision count), encoded."""
    value = fnv32a(canonical(data))
    if collision_count is not None:
        value = fnv32a(struct.pack("<I", collision_count & 0xFFFFFFFF), value)
    return safe_encode(str(value))


def revision_name(parent: str, hash_: str) -> str:
    return f"{parent[:_MAX_PREFIX]}-{hash_}"


def revision_number(revision: Mapping[str, Any]) -> int:
    value = revision.get("revision")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def sort_revisions(revisions: Iterable[Obj]) -> list[Obj]:
    """Oldest first: by revision number, then creation time, then name."""
    return sorted(
        revisions,
        key=lambda r: (
            revision_number(r),
            str((r.get("metadata") or {}).get("creationTimestamp") or ""),
            str((r.get("metadata") or {}).get("name") or ""),
        ),
    )


def next_revision(revisions: Sequence[Obj]) -> int:
    return max((revision_number(r) for r in revisions), default=0) + 1


def equal_revisions(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two revisions hold the same data (nil and empty alike, as Go sees them)."""
    return canonical(a.get("data")) == canonical(b.get("data"))


def new_revision(
    parent: Mapping[str, Any],
    kind: str,
    labels: Mapping[str, str],
    data: Obj,
    number: int,
    hash_: str,
    hash_label: str = REVISION_HASH_LABEL,
) -> Obj:
    """A ControllerRevision of ``parent`` (a ``apps/v1`` set of ``kind``) named by ``hash_``,
    which it also carries as label ``hash_label`` (a StatefulSet's revisions use
    ``controller.kubernetes.io/hash``, a DaemonSet's ``controller-revision-hash``)."""
    meta = parent.get("metadata") or {}
    annotations = dict(meta.get("annotations") or {})
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    rev_meta: Obj = {
        "name": revision_name(meta.get("name", ""), hash_),
        "namespace": meta.get("namespace", ""),
        "labels": {**labels, hash_label: hash_},
        "ownerReferences": [controller_ref(parent, "apps/v1", kind)],
    }
    if annotations:
        rev_meta["annotations"] = annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": rev_meta,
        "data": data,
        "revision": number,
    }


def revisions_to_delete(
    revisions: Sequence[Obj], keep_names: Iterable[str], limit: int
) -> list[Obj]:
    """The oldest revisions beyond ``limit`` that nothing still uses (``truncateHistory``)."""
    keep = set(keep_names)
    candidates = [r for r in sort_revisions(revisions) if r["metadata"]["name"] not in keep]
    surplus = len(candidates) - max(limit, 0)
    return candidates[:surplus] if surplus > 0 else []


class History:
    """Writes of one controller's ControllerRevisions."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def create(
        self,
        revision: Obj,
        collision_count: int,
        rehash: Any,
    ) -> tuple[Obj, int]:
        """Create ``revision``; on a name taken by *different* data, count a collision and
        retry with ``rehash(collision_count) -> revision``. Returns (revision, collisionCount).

        A revision already stored with equal data is returned as it is.
        """
        for _ in range(_MAX_COLLISIONS):
            meta = revision["metadata"]
            try:
                created: Obj = await self.client.create(
                    CONTROLLER_REVISIONS, revision, namespace=meta["namespace"]
                )
                return created, collision_count
            except AlreadyExists:
                existing = await self.client.get(
                    CONTROLLER_REVISIONS, meta["name"], namespace=meta["namespace"]
                )
                if equal_revisions(existing, revision):
                    return existing, collision_count
                collision_count += 1
                revision = rehash(collision_count)
        raise RuntimeError(f"too many hash collisions for {revision['metadata']['name']}")

    async def renumber(self, revision: Obj, number: int) -> Obj:
        """Make an existing revision the newest (a rollback to an earlier template)."""
        if revision_number(revision) == number:
            return revision
        meta = revision["metadata"]
        patch = {"revision": number, "metadata": {"resourceVersion": meta["resourceVersion"]}}
        updated: Obj = await self.client.patch(
            CONTROLLER_REVISIONS, meta["name"], patch, namespace=meta["namespace"]
        )
        return updated

    async def delete(self, revision: Obj) -> None:
        meta = revision["metadata"]
        with suppress(NotFound):
            await self.client.delete(
                CONTROLLER_REVISIONS, meta["name"], namespace=meta["namespace"]
            )
