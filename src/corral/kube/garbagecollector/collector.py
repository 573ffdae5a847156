"""The garbage collector's decisions, made as Kubernetes' ``attemptToDeleteItem`` makes them.

For each object (queued on any change of it, when one of its owners goes,
or when a dependent of it goes while it waits for its dependents):

- **Marked deleted with ``orphan``** (an Orphan deletion): remove the
  reference to it from every dependent, then remove the finalizer.
- **Marked deleted with ``foregroundDeletion``** (a Foreground deletion):
  queue its dependents (they will be deleted, see below); once no dependent
  with ``blockOwnerDeletion: true`` is left, remove the finalizer and the API
  server lets it go.
- **Otherwise, with owner references**, classify each owner: *solid* (it
  exists with the referenced uid), *dangling* (absent, or another uid), or
  *waiting* (it exists but is being deleted in the foreground). With a solid
  owner the object stays, and references to dangling and waiting owners are
  removed. Without one: if an owner is waiting and the object has dependents
  of its own, it is deleted in the foreground too (after clearing its own
  ``blockOwnerDeletion`` if a dependent is itself deleting in the
  foreground, which would otherwise be a cycle); else it is deleted with the
  policy its own finalizers ask for, Background by default.

Owners are looked up in the informer caches first; an owner missing there
(or with another uid) is always confirmed with a live GET before anything is
deleted, and the object's own latest state is read again first, so a
dependent whose owner exists with the same uid is never deleted. Owners so
confirmed absent are remembered (a bounded LRU; a uid never comes back), so
the other dependents of a deleted owner cost no further GET of it. A namespaced
owner kind is looked up in the dependent's namespace (an owner reference has
no namespace): a reference across namespaces is dangling, as in Kubernetes;
a cluster-scoped owner is looked up without one; a cluster-scoped dependent
naming a namespaced owner kind is invalid and left alone.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from contextlib import suppress
from dataclasses import dataclass, field

from corral.client import Client, PropagationPolicy, ResourceRef
from corral.client.options import Preconditions
from corral.controller import Result, remove_finalizer
from corral.controller.indexer import object_key
from corral.kube.enqueue import enqueue
from corral.kube.garbagecollector.graph import Dependent, DependentsIndex
from corral.kube.garbagecollector.monitors import Monitor, Monitors
from corral.kube.garbagecollector.ownerrefs import (
    FOREGROUND,
    ORPHAN,
    Obj,
    OwnerRef,
    blocks,
    finalizers,
    is_deleting,
    is_deleting_dependents,
    meta,
    owner_refs,
    owner_uids,
    remove_owner_refs,
    uid_of,
    unblock_owner_refs,
)
from corral.machinery.status import Conflict, NotFound

log = logging.getLogger(__name__)

NOT_SYNCED_RETRY = 1.0
"""Seconds before looking again at an owner whose dependents may not all be cached yet."""
ABSENT_OWNERS = 500
"""Owners confirmed absent, remembered (LRU) so their other dependents cost no GET."""
WAITING_RECHECK = 60.0
"""A foreground owner is looked at again this often even without events (level-triggered)."""


class UnresolvableOwner(Exception):
    """An owner reference names a kind the server does not serve (retried with back-off)."""


class InvalidOwner(Exception):
    """A cluster-scoped object names a namespaced owner kind: never collected."""


@dataclass(slots=True)
class Classified:
    solid: list[OwnerRef] = field(default_factory=list)
    dangling: list[OwnerRef] = field(default_factory=list)
    waiting: list[OwnerRef] = field(default_factory=list)


class Collector:
    """The handler run for every key of every monitor, and the index it keeps."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.index = DependentsIndex()
        self.monitors: Monitors | None = None
        self._absent: OrderedDict[tuple[ResourceRef, str, str, str], None] = OrderedDict()

    # -- wiring (one call per new monitor) -----------------------------------

    def setup(self, monitor: Monitor) -> None:
        ref = monitor.ref
        monitor.informer.on_add(lambda obj: self._changed(ref, None, obj))
        monitor.informer.on_update(lambda old, new: self._changed(ref, old, new))
        monitor.informer.on_delete(lambda obj: self._deleted(ref, obj))

        async def handle(key: str, obj: Obj | None) -> Result | None:
            return await self.process(ref, key, obj)

        monitor.controller.on_change("attempt-to-delete", handle)

    def _monitors(self) -> Monitors:
        assert self.monitors is not None
        return self.monitors

    # -- events --------------------------------------------------------------

    def _changed(self, ref: ResourceRef, old: Obj | None, new: Obj) -> None:
        before = owner_uids(old) if old is not None else frozenset()
        after = owner_uids(new)
        if before or after:
            self.index.update((ref, object_key(new)), before, after)
        if old is not None and owner_refs(old) != owner_refs(new):
            # A reference dropped or unblocked may be what a foreground owner waits for.
            self._queue_deleting_owners(new, owner_refs(old))

    def _deleted(self, ref: ResourceRef, obj: Obj) -> None:
        uids = owner_uids(obj)
        if uids:
            self.index.update((ref, object_key(obj)), uids, ())
        for dependent in self.index.dependents(uid_of(obj)):
            self._queue(dependent)
        self._queue_deleting_owners(obj, owner_refs(obj))

    def _queue(self, dependent: Dependent) -> None:
        monitor = self._monitors().get(dependent[0])
        if monitor is not None:
            enqueue(monitor.controller, dependent[1])

    def _queue_deleting_owners(self, dependent: Obj, refs: list[OwnerRef]) -> None:
        namespace = str(meta(dependent).get("namespace") or "")
        for ref in refs:
            resource = self._monitors().resolve(ref.group, ref.kind)
            monitor = self._monitors().get(resource) if resource else None
            if resource is None or monitor is None:
                continue
            key = f"{namespace}/{ref.name}" if resource.namespaced and namespace else ref.name
            owner = monitor.informer.get(key)
            if owner is not None and uid_of(owner) == ref.uid and is_deleting(owner):
                enqueue(monitor.controller, key)

    # -- the decision ----------------------------------------------------------

    async def process(self, ref: ResourceRef, key: str, obj: Obj | None) -> Result | None:
        if obj is None:
            return None
        if is_deleting(obj):
            return await self._deleting(ref, obj)
        if not owner_refs(obj):
            return None
        try:
            found = await self._classify(obj, live=False)
            if found.dangling or found.waiting:
                return await self._collect(ref, obj)
        except InvalidOwner:
            log.info("garbage collector: %s %s: cluster-scoped, names a namespaced owner", ref, key)
        return None

    async def _collect(self, ref: ResourceRef, cached: Obj) -> Result | None:
        """Act on an object with dangling or waiting owners, from its latest state."""
        name, namespace = str(meta(cached).get("name")), str(meta(cached).get("namespace") or "")
        try:
            latest = await self.client.get(ref, name, namespace=namespace)
        except NotFound:
            return None
        if uid_of(latest) != uid_of(cached) or is_deleting(latest):
            return None  # replaced, or deleting: its own events bring it back
        refs = owner_refs(latest)
        if not refs:
            return None
        found = await self._classify(latest, live=True)
        if found.solid:
            gone = {r.uid for r in (*found.dangling, *found.waiting)}
            if gone:
                await remove_owner_refs(self.client, ref, latest, gone)
            return None
        uid = uid_of(latest)
        if found.waiting and self.index.has_dependents(uid):
            if any(self._is_deleting_dependents(d) for d in self.index.dependents(uid)):
                updated = await unblock_owner_refs(self.client, ref, latest)
                if updated is None:
                    return None
            await self._delete(ref, latest, PropagationPolicy.FOREGROUND)
            return None
        own = finalizers(latest)
        if ORPHAN in own:
            policy = PropagationPolicy.ORPHAN
        elif FOREGROUND in own:
            policy = PropagationPolicy.FOREGROUND
        else:
            policy = PropagationPolicy.BACKGROUND
        await self._delete(ref, latest, policy)
        return None

    async def _delete(self, ref: ResourceRef, obj: Obj, policy: PropagationPolicy) -> None:
        name, namespace = str(meta(obj).get("name")), str(meta(obj).get("namespace") or "")
        log.info("garbage collector: deleting %s %s/%s (%s)", ref, namespace, name, policy)
        with suppress(NotFound, Conflict):  # gone already, or another object of that name now
            await self.client.delete(
                ref,
                name,
                namespace=namespace,
                propagation_policy=policy,
                preconditions=Preconditions(uid=uid_of(obj)),
            )

    def _is_deleting_dependents(self, dependent: Dependent) -> bool:
        cached = self._cached(dependent)
        return cached is not None and is_deleting_dependents(cached)

    def _cached(self, dependent: Dependent) -> Obj | None:
        monitor = self._monitors().get(dependent[0])
        return monitor.informer.get(dependent[1]) if monitor is not None else None

    # -- owners ------------------------------------------------------------------

    async def _classify(self, obj: Obj, *, live: bool) -> Classified:
        found = Classified()
        namespace = str(meta(obj).get("namespace") or "")
        for ref in owner_refs(obj):
            owner = await self._owner(namespace, ref, live=live)
            if owner is None:
                found.dangling.append(ref)
            elif is_deleting_dependents(owner):
                found.waiting.append(ref)
            else:
                found.solid.append(ref)
        return found

    async def _owner(self, namespace: str, ref: OwnerRef, *, live: bool) -> Obj | None:
        """The owner ``ref`` names, or None when it is absent or has another uid."""
        monitors = self._monitors()
        resource = monitors.resolve(ref.group, ref.kind)
        if resource is None:
            monitors.request_discovery()
            raise UnresolvableOwner(f"no resource serves kind {ref.kind!r} of {ref.api_version}")
        if resource.namespaced and not namespace:
            raise InvalidOwner(ref.kind)
        owner_ns = namespace if resource.namespaced else ""
        absent_key = (resource, owner_ns, ref.name, ref.uid)
        if absent_key in self._absent:
            self._absent.move_to_end(absent_key)
            return None
        if not live:
            monitor = monitors.get(resource)
            if monitor is not None and monitor.informer.has_synced:
                key = f"{owner_ns}/{ref.name}" if owner_ns else ref.name
                cached = monitor.informer.get(key)
                if cached is not None and uid_of(cached) == ref.uid:
                    return cached
                return None  # absent from the cache: confirmed live before acting
        try:
            owner = await self.client.get(resource, ref.name, namespace=owner_ns)
        except NotFound:
            owner = None
        if owner is None or uid_of(owner) != ref.uid:
            # A uid never comes back: once absent, absent for good.
            self._absent[absent_key] = None
            if len(self._absent) > ABSENT_OWNERS:
                self._absent.popitem(last=False)
            return None
        return owner

    # -- owners being deleted ------------------------------------------------------

    async def _deleting(self, ref: ResourceRef, obj: Obj) -> Result | None:
        own = finalizers(obj)
        if ORPHAN not in own and FOREGROUND not in own:
            return None
        if not self._monitors().all_synced():
            return Result(requeue_after=NOT_SYNCED_RETRY)
        uid = uid_of(obj)
        if ORPHAN in own:
            await self._orphan(uid)
            updated = await remove_finalizer(self.client, ref, obj, ORPHAN)
            if updated is None:
                return None
            obj = updated
        if FOREGROUND not in finalizers(obj):
            return None
        blocking = False
        for dependent in self.index.dependents(uid):
            cached = self._cached(dependent)
            if cached is None:
                continue
            if blocks(cached, uid):
                blocking = True
            if not is_deleting_dependents(cached):
                self._queue(dependent)
        if blocking:
            return Result(requeue_after=WAITING_RECHECK)
        await remove_finalizer(self.client, ref, obj, FOREGROUND)
        return None

    async def _orphan(self, owner_uid: str) -> None:
        for dependent in self.index.dependents(owner_uid):
            cached = self._cached(dependent)
            if cached is not None:
                await remove_owner_refs(self.client, dependent[0], cached, {owner_uid})
