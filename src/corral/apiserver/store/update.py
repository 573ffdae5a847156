"""Updating an object: optimistic concurrency, the status split, generation.

What it decides, following Kubernetes' generic registry:

- A body with ``metadata.resourceVersion`` is a compare-and-swap: a stale one
  is 409 Conflict. Without it the update is unconditional (it is retried
  against whatever is current).
- For kinds with a status subresource, a write to the main resource keeps
  the stored ``status``, and a write to ``/status`` changes only ``status``.
  A Namespace's ``spec.finalizers`` change only through ``/finalize``,
  which changes nothing else.
- ``uid``, ``creationTimestamp``, ``deletionTimestamp``, ``generation`` are
  the server's; the name and namespace must match the URL (400).
- ``metadata.generation`` is bumped when anything outside ``metadata`` and
  ``status`` changed (for a custom resource without a status subresource,
  when anything outside ``metadata`` changed, as Kubernetes does).
- An update that changes nothing writes nothing (the resourceVersion stays).
- When an object being deleted (``deletionTimestamp`` set) loses its last
  finalizer, it is written once more (watchers see the final state) and then
  deleted.

`mutate_object` is the shared loop: read, let a function produce the new
object, write with compare-and-swap, and retry on a lost race when allowed.
PATCH uses it too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from corral.apiserver.registry import ResourceType
from corral.apiserver.store.admit import admit
from corral.apiserver.store.create import check_kind
from corral.apiserver.store.managed import Ownership, keep_stored
from corral.apiserver.store.meta import spec_changed
from corral.apiserver.store.objects import (
    Stored,
    encode_object,
    meta_of,
    storage_errors,
    stored_from_kv,
)
from corral.machinery.admission import Admission, Operation
from corral.machinery.jsoncopy import json_copy
from corral.machinery.status import BadRequest, Conflict, Invalid, NotFound
from corral.storage import Backend, KeyNotFoundError, RevisionMismatchError

_RETRIES = 16
_SERVER_OWNED = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds")


def _copy_finalizers(source: dict[str, Any], target: dict[str, Any]) -> None:
    finalizers = (source.get("spec") or {}).get("finalizers")
    spec = target.setdefault("spec", {})
    if finalizers is None:
        spec.pop("finalizers", None)
    else:
        spec["finalizers"] = finalizers


def _merge_update(
    rt: ResourceType, new: dict[str, Any], old: dict[str, Any], subresource: str
) -> dict[str, Any]:
    """The object to store when ``new`` replaces ``old`` through ``subresource``."""
    if rt.group == "" and rt.resource == "namespaces":
        # spec.finalizers change only through /finalize, and /finalize changes only them.
        if subresource == "finalize":
            merged = json_copy(old)
            _copy_finalizers(new, merged)
            return merged
        _copy_finalizers(old, new)
    if subresource == "binding":
        return new  # the binding handler changes exactly spec.nodeName and PodScheduled
    if subresource == "status":
        merged = json_copy(old)
        if "status" in new:
            merged["status"] = new["status"]
        else:
            merged.pop("status", None)
        return merged
    if rt.has_status_subresource:
        if "status" in old:
            new["status"] = old["status"]
        else:
            new.pop("status", None)
    return new


def _keep_server_fields(rt: ResourceType, new: dict[str, Any], old: dict[str, Any]) -> None:
    meta, old_meta = meta_of(new), old["metadata"]
    for key in _SERVER_OWNED:
        if key in old_meta:
            meta[key] = old_meta[key]
        else:
            meta.pop(key, None)
    if rt.has_spec:
        generation = old_meta.get("generation", 1)
        # A custom resource without a status subresource: status is content too.
        changed = spec_changed(new, old) or (
            rt.custom is not None
            and not rt.has_status_subresource
            and new.get("status") != old.get("status")
        )
        meta["generation"] = generation + 1 if changed else generation
    else:
        meta.pop("generation", None)


def _deletion_finished(rt: ResourceType, obj: dict[str, Any]) -> bool:
    """True if ``obj`` is being deleted and nothing holds it any more."""
    meta = obj["metadata"]
    if not meta.get("deletionTimestamp") or meta.get("finalizers"):
        return False
    if rt.group == "" and rt.resource == "namespaces":
        return not (obj.get("spec") or {}).get("finalizers")
    return True


def check_identity(rt: ResourceType, obj: dict[str, Any], namespace: str, name: str) -> None:
    """400 if the body names another object than the URL."""
    meta = meta_of(obj)
    given = meta.get("name") or ""
    if given != name:
        raise BadRequest(
            f"the name of the object ({given}) does not match the name on the URL ({name})"
        )
    if rt.namespaced:
        ns = meta.get("namespace") or ""
        if ns and ns != namespace:
            raise BadRequest(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)


Mutation = Callable[[dict[str, Any]], dict[str, Any]]


async def mutate_object(
    backend: Backend,
    rt: ResourceType,
    namespace: str,
    name: str,
    mutate: Mutation,
    *,
    subresource: str = "",
    dry_run: bool = False,
    admission: Admission | None = None,
    ownership: Ownership | None = None,
) -> Stored:
    """Apply ``mutate`` to the current object and store the result.

    ``mutate`` receives a private copy of the current object (with its
    resourceVersion) and returns the desired object; if that carries a
    resourceVersion, it is a precondition (409 when stale), otherwise a lost
    race is retried with a fresh read. ``admission`` runs after validation,
    once per attempt (aborted when the attempt writes nothing).
    ``ownership`` records the managedFields of the write (`managed`); without
    it the stored ones are kept.
    """
    key = rt.key(namespace, name)
    for _ in range(_RETRIES):
        kv = await backend.get(key)
        if kv is None:
            raise NotFound(rt.resource, name, group=rt.group)
        current = stored_from_kv(rt, kv)
        desired = mutate(json_copy(current.obj))
        if not isinstance(desired, dict):
            raise BadRequest("the object must be a JSON object")
        wanted_rv = meta_of(desired).get("resourceVersion") or ""
        if wanted_rv and wanted_rv != str(kv.mod_revision):
            raise Conflict(rt.resource, name, group=rt.group)
        check_identity(rt, desired, namespace, name)
        check_kind(rt, desired)
        new = _merge_update(rt, desired, current.obj, subresource)
        _keep_server_fields(rt, new, current.obj)
        rt.strategy.default(new)
        errors = rt.strategy.validate_update(new, current.obj)
        if errors:
            raise Invalid(rt.kind, name, errors, group=rt.group)
        if ownership is not None:
            ownership.record(rt, current.obj, new, subresource)
        else:
            keep_stored(current.obj, new)
        admitted = await admit(
            admission,
            rt,
            Operation.UPDATE,
            namespace,
            name,
            new,
            current.obj,
            subresource=subresource,
            dry_run=dry_run,
        )
        value = encode_object(rt, new)
        finished = _deletion_finished(rt, new)
        if value == kv.value and not finished:
            await admitted.abort()
            return current
        if dry_run:
            new["metadata"]["resourceVersion"] = str(kv.mod_revision)
            return Stored.unsaved(new)
        try:
            written = await backend.update(
                key, value, expected_revision=kv.mod_revision, ttl=rt.ttl
            )
        except RevisionMismatchError:
            await admitted.abort()
            if wanted_rv:
                raise Conflict(rt.resource, name, group=rt.group) from None
            continue
        except KeyNotFoundError:
            await admitted.abort()
            raise NotFound(rt.resource, name, group=rt.group) from None
        except BaseException:
            await admitted.abort()
            raise
        await admitted.commit()
        if finished:
            with storage_errors(rt, name):
                await backend.delete(key, expected_revision=written.mod_revision)
        return stored_from_kv(rt, written)
    raise Conflict(rt.resource, name, group=rt.group)


async def update_object(
    backend: Backend,
    rt: ResourceType,
    namespace: str,
    name: str,
    body: dict[str, Any],
    *,
    subresource: str = "",
    dry_run: bool = False,
    admission: Admission | None = None,
    ownership: Ownership | None = None,
) -> Stored:
    """PUT: replace the object with ``body``."""
    return await mutate_object(
        backend,
        rt,
        namespace,
        name,
        lambda _current: body,
        subresource=subresource,
        dry_run=dry_run,
        admission=admission,
        ownership=ownership,
    )
