"""PATCH: JSON patch, merge patch, strategic merge patch, applied like an update.

The patch is applied to the current object (with its resourceVersion), and
the result is stored through the same path as a PUT (`mutate_object`): the
status split, generation and validation apply (the patched object is
checked against the schema, and ``fieldValidation`` applies to the unknown
fields it has, as for a PUT), and a lost race is retried
unless the patch itself set ``metadata.resourceVersion``. Strategic merge
patch uses the built-in patch metadata; custom resources have none, so it is
415 for them, as in Kubernetes (their result is checked against the CRD
version's schema). Server-side apply
(``application/apply-patch+yaml``) is `apply`'s. Every patch records its
manager's fields in managedFields (`apply_options`); ``force`` is refused
on non-apply patches (422).
"""

from __future__ import annotations

from typing import Any

from corral.apiserver.asgi import Response
from corral.apiserver.handlers.apply import APPLY_PATCH, server_side_apply
from corral.apiserver.handlers.apply_options import force_of, updated_by
from corral.apiserver.handlers.context import Verb
from corral.apiserver.handlers.io import (
    body_response,
    dry_run,
    media_type,
    parse_document,
    query_one,
    read_raw,
    with_warnings,
)
from corral.apiserver.store import mutate_object
from corral.machinery.openapi import check_object, parse_field_validation
from corral.machinery.patch import (
    InvalidPatchError,
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
)
from corral.machinery.status import BadRequest, FieldError, Invalid, UnsupportedMediaType

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH)


def _allowed(v: Verb) -> tuple[str, ...]:
    return PATCH_TYPES if v.rt.custom is None else (JSON_PATCH, MERGE_PATCH)


async def read_patch(v: Verb) -> tuple[str, Any]:
    """The patch type and document of the request (415 / 400 when unusable)."""
    ctype = media_type(v.request.headers.get("content-type", ""))
    allowed = _allowed(v)
    if ctype not in allowed:
        raise UnsupportedMediaType(allowed)
    force_of(v.request, apply=False)
    doc = parse_document(await read_raw(v.request), "")
    if doc is None:
        raise BadRequest("the patch body is empty")
    return ctype, doc


def apply_patch(v: Verb, ctype: str, doc: Any, target: dict[str, Any]) -> dict[str, Any]:
    """``target`` patched; the result keeps a resourceVersion only if the patch set one."""
    try:
        if ctype == JSON_PATCH:
            result = apply_json_patch(target, doc)
        elif ctype == MERGE_PATCH:
            result = apply_merge_patch(target, doc)
        else:
            result = apply_strategic_merge_patch(target, doc)
    except InvalidPatchError as exc:
        raise BadRequest(exc.message) from None
    except PatchError as exc:
        error = FieldError.invalid(exc.path or "", "", exc.message)
        raise Invalid(v.rt.kind, v.name, [error], group=v.rt.group) from None
    if not isinstance(result, dict):
        raise BadRequest("the patched object is not a JSON object")
    if not _patch_sets_rv(doc):
        meta = result.setdefault("metadata", {})
        if isinstance(meta, dict):
            meta.pop("resourceVersion", None)
    return result


async def patch(v: Verb) -> Response:
    ctype = media_type(v.request.headers.get("content-type", ""))
    if ctype == APPLY_PATCH:
        return await server_side_apply(v, await read_raw(v.request))
    if ctype not in _allowed(v):
        raise UnsupportedMediaType((*_allowed(v), APPLY_PATCH))
    ctype, doc = await read_patch(v)
    ownership = updated_by(v.request, "PatchOptions")
    directive = parse_field_validation(query_one(v.request, "fieldValidation") or None)
    warnings: list[str] = []

    def patched(current: dict[str, Any]) -> dict[str, Any]:
        result = apply_patch(v, ctype, doc, current)
        # The result is checked like a PUT's body (it may be retried: keep the last).
        schema = v.rt.custom.schema if v.rt.custom is not None else None
        warnings[:] = check_object(result, v.rt.gvk, directive, schema=schema).warnings
        if v.rt.custom is not None:
            warnings.extend(v.rt.custom.write_warnings)
        return result

    stored = await mutate_object(
        v.backend,
        v.rt,
        v.namespace,
        v.name,
        patched,
        subresource=v.info.subresource,
        dry_run=dry_run(v.request),
        admission=v.parts.admission,
        ownership=ownership,
    )
    return with_warnings(body_response(v.request, 200, stored.body), warnings)


def _patch_sets_rv(doc: Any) -> bool:
    """True if the patch names a resourceVersion (then it is a precondition)."""
    if isinstance(doc, dict):
        meta = doc.get("metadata")
        return isinstance(meta, dict) and bool(meta.get("resourceVersion"))
    if isinstance(doc, list):
        return any(
            isinstance(op, dict) and str(op.get("path", "")) == "/metadata/resourceVersion"
            for op in doc
        )
    return False
