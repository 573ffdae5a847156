"""Deleting a CRD: the cleanup finalizer, and removing every object of the CRD.

As in Kubernetes, DELETE of a CRD first gives it the
``customresourcecleanup.apiextensions.k8s.io`` finalizer (so the generic
delete marks it with ``deletionTimestamp`` instead of removing it), then the
CRD controller stops serving its resources, sets the ``Terminating``
condition, deletes every stored object of the CRD, and removes the
finalizer, at which point the store deletes the CRD. A dry-run delete adds
nothing.

Decision: the objects are deleted from storage directly (each key with its
own delete, so watchers see DELETED events), without running their own
finalizers: once the CRD is gone no controller could clear them anyway.
"""

from __future__ import annotations

import contextlib
from functools import partial
from typing import Any

from corral.apiserver.registry import ResourceType
from corral.apiserver.store import mutate_object
from corral.apiserver.store.delete import check_preconditions
from corral.machinery.status import NotFound
from corral.storage import Backend, KeyNotFoundError

CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"

Obj = dict[str, Any]


def _with_finalizer(crd_rt: ResourceType, options: Obj, current: Obj) -> Obj:
    check_preconditions(crd_rt, current, options)
    meta = current["metadata"]
    meta.pop("resourceVersion", None)
    finalizers = list(meta.get("finalizers") or [])
    if CLEANUP_FINALIZER not in finalizers and not meta.get("deletionTimestamp"):
        meta["finalizers"] = [*finalizers, CLEANUP_FINALIZER]
    return current


def _without_finalizer(current: Obj) -> Obj:
    meta = current["metadata"]
    meta.pop("resourceVersion", None)
    finalizers = [f for f in meta.get("finalizers") or [] if f != CLEANUP_FINALIZER]
    if finalizers:
        meta["finalizers"] = finalizers
    else:
        meta.pop("finalizers", None)
    return current


async def add_cleanup_finalizer(
    backend: Backend, crd_rt: ResourceType, name: str, options: Obj
) -> Obj:
    """Before a CRD is deleted: make sure its objects are cleaned up first.

    404 if it is missing; the delete's preconditions are checked here (409),
    and the options to delete with are returned without the resourceVersion
    precondition, which adding the finalizer has just made stale.
    """
    await mutate_object(backend, crd_rt, "", name, partial(_with_finalizer, crd_rt, options))
    pre = options.get("preconditions")
    if not isinstance(pre, dict) or "resourceVersion" not in pre:
        return options
    rest = {k: v for k, v in pre.items() if k != "resourceVersion"}
    return {**options, "preconditions": rest}


async def remove_cleanup_finalizer(backend: Backend, crd_rt: ResourceType, name: str) -> None:
    """After the cleanup: let the CRD go."""
    with contextlib.suppress(NotFound):
        await mutate_object(backend, crd_rt, "", name, _without_finalizer)


async def delete_all(backend: Backend, prefix: str) -> int:
    """Delete every key under ``prefix``; the number deleted."""
    page = await backend.list(prefix)
    deleted = 0
    for kv in page.items:
        with contextlib.suppress(KeyNotFoundError):
            await backend.delete(kv.key)
            deleted += 1
    return deleted
