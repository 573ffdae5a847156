"""CREATE, UPDATE (PUT) and DELETE: decode the body, call the store, answer.

Creates answer 201 (200 for a dry run, as Kubernetes); updates 200; deletes
200 with the deleted object or a success Status (per kind), or with the
object still present when finalizers or a grace period hold it (202 if the
request said ``orphanDependents=false``). The DeleteOptions come from the
body or the query (`deleteoptions`). DELETE on a collection deletes every
selected object with the same options and answers with the list of them.

Custom resources are checked against their version's schema, and writes
to them carry the version's warnings (rules the server does not enforce).
Deleting a CRD first gives it the cleanup finalizer (`corral.apiserver.crds`).
"""

from __future__ import annotations

from typing import Any

import orjson

from corral.apiserver.asgi import Response
from corral.apiserver.crds import CRD_GROUP, CRD_RESOURCE, add_cleanup_finalizer, wait_until_served
from corral.apiserver.handlers.apply_options import updated_by
from corral.apiserver.handlers.context import Verb
from corral.apiserver.handlers.deleteoptions import delete_options
from corral.apiserver.handlers.io import (
    body_response,
    dry_run,
    object_response,
    read_checked_object,
    with_warnings,
)
from corral.apiserver.handlers.lists import list_response
from corral.apiserver.handlers.selection import selection_from
from corral.apiserver.registry import ResourceType
from corral.apiserver.store import (
    create_object,
    delete_object,
    list_objects,
    success_status,
    update_object,
)
from corral.apiserver.store.admit import released
from corral.machinery.openapi import Intake
from corral.machinery.status import NotFound


def _is_crd(rt: ResourceType) -> bool:
    return rt.group == CRD_GROUP and rt.resource == CRD_RESOURCE


def _schema(rt: ResourceType) -> Any:
    return rt.custom.schema if rt.custom is not None else None


def write_warnings(rt: ResourceType, intake_warnings: list[str]) -> list[str]:
    """The warnings of a write: the body's, then the custom resource version's."""
    extra = list(rt.custom.write_warnings) if rt.custom is not None else []
    return intake_warnings + extra


#: What a status write keeps of its body (`store.update`), hence all that is checked.
_STATUS_FIELDS = frozenset({"apiVersion", "kind", "metadata", "status"})


async def _intake(v: Verb) -> Intake:
    # Built-in kinds only: a custom resource's schema may require its spec.
    status_only = v.info.subresource == "status" and v.rt.custom is None
    only = _STATUS_FIELDS if status_only else None
    return await read_checked_object(v.request, v.rt.gvk, _schema(v.rt), only=only)


async def create(v: Verb) -> Response:
    if v.name or v.info.subresource:
        raise NotFound(v.rt.resource, v.name, group=v.rt.group)
    ownership = updated_by(v.request, "CreateOptions")
    intake = await _intake(v)
    dry = dry_run(v.request)
    stored = await create_object(
        v.backend,
        v.rt,
        v.namespace,
        intake.obj,
        dry_run=dry,
        admission=v.parts.admission,
        ownership=ownership,
    )
    if _is_crd(v.rt) and not dry:
        await wait_until_served(v.parts.registry, stored.obj["metadata"]["name"])
    warnings = write_warnings(v.rt, intake.warnings)
    return with_warnings(body_response(v.request, 201, stored.body), warnings)


async def update(v: Verb) -> Response:
    ownership = updated_by(v.request, "UpdateOptions")
    intake = await _intake(v)
    stored = await update_object(
        v.backend,
        v.rt,
        v.namespace,
        v.name,
        intake.obj,
        subresource=v.info.subresource,
        dry_run=dry_run(v.request),
        admission=v.parts.admission,
        ownership=ownership,
    )
    warnings = write_warnings(v.rt, intake.warnings)
    return with_warnings(body_response(v.request, 200, stored.body), warnings)


async def delete(v: Verb) -> Response:
    options, dry = await delete_options(v.request)
    if _is_crd(v.rt) and not dry:
        options = await add_cleanup_finalizer(v.backend, v.rt, v.name, options)
    stored, gone = await delete_object(v.backend, v.rt, v.namespace, v.name, options, dry_run=dry)
    if gone and not dry:
        await released(v.parts.admission, v.rt, v.namespace, stored.obj)
    if gone and not v.rt.return_deleted_object:
        return object_response(v.request, 200, success_status(v.rt, stored.obj))
    # Kubernetes answers 202 for an object still there after orphanDependents=false.
    accepted = not gone and options.get("orphanDependents") is False
    return body_response(v.request, 202 if accepted else 200, stored.body)


async def delete_collection(v: Verb) -> Response:
    options, dry = await delete_options(v.request)
    selection = selection_from(v.request, v.rt)
    page = await list_objects(
        v.backend,
        v.rt,
        v.namespace,
        predicate=None if selection.everything else selection.matches,
    )
    deleted = []
    for body in page.items:
        meta = orjson.loads(body)["metadata"]
        try:
            item_options = options
            if _is_crd(v.rt) and not dry:
                item_options = await add_cleanup_finalizer(v.backend, v.rt, meta["name"], options)
            stored, gone = await delete_object(
                v.backend, v.rt, meta.get("namespace", ""), meta["name"], item_options, dry_run=dry
            )
        except NotFound:
            continue
        if gone and not dry:
            await released(v.parts.admission, v.rt, meta.get("namespace", ""), stored.obj)
        deleted.append(stored.body)
    return list_response(v.request, v.rt, deleted, page.revision)
