"""What the controllers of owned objects share: their run/stop, finding owners.

The ReplicaSet, Deployment, StatefulSet, DaemonSet, Job and CronJob
controllers are each keyed by an owner kind and hear of the objects it
owns (pods, ReplicaSets, Jobs). They run a `Controller` together with an
`EventRecorder` (`RecordingRunnable`; the Job controller runs its own, with
an orphan-pod worker besides), find the owner of a child through the
child's controller reference (`owner_of`: same kind, name and uid in the
owner informer), an orphan's candidate owners through their selectors
(`matching_owners`, for adoption), and whom a child's update concerns
(`updated_owners`); the ReplicaSet, StatefulSet and DaemonSet controllers
write an owner's status the same way (`write_status`). One copy of that
wiring keeps them alike.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from corral.client import Client, ResourceRef
from corral.controller import NAMESPACE_INDEX, Controller, Informer, object_key
from corral.kube.controllerref import controller_of
from corral.kube.eventrecorder import EventRecorder
from corral.machinery.jsoncopy import json_copy
from corral.machinery.labels import Selector, SelectorError, from_label_selector
from corral.machinery.status import Conflict, NotFound

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def selector_of(obj: Mapping[str, Any]) -> Selector | None:
    """The object's ``spec.selector`` (None if invalid; Kubernetes' validation prevents it)."""
    try:
        return from_label_selector((obj.get("spec") or {}).get("selector"))
    except SelectorError:
        return None


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    """A copy of the object's labels (empty when it has none)."""
    labels = _meta(obj).get("labels")
    return dict(labels) if isinstance(labels, Mapping) else {}


def owner_of(
    owners: Informer, kind: str, obj: Mapping[str, Any], ref: Mapping[str, Any] | None
) -> Obj | None:
    """The owner in ``owners`` that ``ref`` (``obj``'s controller reference) names:
    of ``kind``, in ``obj``'s namespace, with the reference's uid (None otherwise)."""
    if ref is None or ref.get("kind") != kind:
        return None
    owner = owners.get(f"{_meta(obj).get('namespace', '')}/{ref.get('name')}")
    if owner is None or _meta(owner).get("uid") != ref.get("uid"):
        return None
    return owner


def matching_owners(owners: Informer, obj: Mapping[str, Any]) -> list[Obj]:
    """Owners of ``obj``'s namespace whose (valid, non-empty) selector matches its labels."""
    labels = labels_of(obj)
    found = []
    for owner in owners.by_index(NAMESPACE_INDEX, _meta(obj).get("namespace", "")):
        selector = selector_of(owner)
        if selector is not None and not selector.empty and selector.matches(labels):
            found.append(owner)
    return found


async def write_status(
    client: Client, resource: ResourceRef, obj: Obj, status: Obj, *, wait_when_stale: bool = False
) -> Obj:
    """Write ``status`` of ``obj`` through its status subresource unless it is unchanged.

    As Kubernetes does: a PUT of the cached object with the new status, and on a
    conflict one more try on a fresh read. A second conflict is raised, or with
    ``wait_when_stale`` logged and the current object returned (the informer brings
    the newer version, and with it the key). An object gone meanwhile is not an error.
    """
    current = obj
    for attempt in range(2):
        if (current.get("status") or {}) == status:
            return current
        body = json_copy(current)
        body["status"] = status
        try:
            updated: Obj = await client.update(resource, body, subresource="status")
            return updated
        except NotFound:
            return current
        except Conflict:
            if attempt:
                if not wait_when_stale:
                    raise
                kind = resource.kind.lower()
                log.debug("%s %s: status conflict twice, waiting", kind, object_key(obj))
                return current
        meta = current["metadata"]
        try:
            current = await client.get(resource, meta["name"], namespace=meta.get("namespace"))
        except NotFound:
            return obj
    return current


def updated_owners(
    owners: Informer, kind: str, old: Obj, cur: Obj
) -> tuple[Obj | None, Obj | None, list[Obj]]:
    """Whom a child's update concerns: (its former owner if its controller reference
    changed, its current owner, the candidate owners of an orphan whose labels or
    reference changed)."""
    cur_ref, old_ref = controller_of(cur), controller_of(old)
    ref_changed = (cur_ref or {}).get("uid") != (old_ref or {}).get("uid")
    previous = owner_of(owners, kind, old, old_ref) if ref_changed else None
    if cur_ref is not None:
        return previous, owner_of(owners, kind, cur, cur_ref), []
    if ref_changed or labels_of(old) != labels_of(cur):
        return previous, None, matching_owners(owners, cur)
    return previous, None, []


class RecordingRunnable:
    """A `Runnable` of a controller and its event recorder, run and stopped together.

    Subclasses set ``controller`` and ``events`` in their ``__init__``.
    """

    controller: Controller
    events: EventRecorder

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.events.run())
            group.create_task(self.controller.run())

    async def stop(self) -> None:
        await self.controller.stop()
        await self.events.stop()
