"""Server-side apply: ``PATCH`` with ``Content-Type: application/apply-patch+yaml``.

The body is an apply configuration (YAML or JSON): a partial object with
``apiVersion``, ``kind`` and the fields its manager (the required
``fieldManager``) wants to own. What it decides, as kube-apiserver 1.32:

- The configuration is merged into the live object by the kind's schema
  and the ownership rules of `corral.machinery.managedfields.apply_config`
  (conflicts are 409 unless ``force=true``; fields the manager stopped
  applying are removed unless someone else owns them).
- A missing object is created from the configuration (201); on a
  subresource (``/status``) a missing object is 404.
- The result is checked like a PUT's body (schema, ``fieldValidation``,
  strategy), stored through `mutate_object`/`create_object` with the
  computed managedFields; ``dryRun=All`` stores nothing.
- The configuration may not carry ``metadata.managedFields`` (400); a
  ``metadata.resourceVersion`` in it is a precondition (409 when stale).
"""

from __future__ import annotations

from typing import Any

import orjson
import yaml

from corral.apiserver.asgi import Response
from corral.apiserver.handlers.apply_options import apply_manager, force_of
from corral.apiserver.handlers.context import Verb
from corral.apiserver.handlers.io import body_response, dry_run, query_one, with_warnings
from corral.apiserver.registry import ResourceType
from corral.apiserver.store import create_object, mutate_object
from corral.apiserver.store.managed import MANAGED_FIELDS, Applied, field_types, writer_for
from corral.machinery.jsoncopy import json_copy
from corral.machinery.managedfields import (
    Entry,
    ManagedFieldsError,
    apply_config,
    decode_entries,
)
from corral.machinery.openapi import check_object, parse_field_validation
from corral.machinery.status import AlreadyExists, BadRequest, NotFound

APPLY_PATCH = "application/apply-patch+yaml"
_CREATE_ATTEMPTS = 3


def parse_config(raw: bytes) -> dict[str, Any]:
    """The apply configuration of a request body (400 when it is not an object)."""
    text = raw.strip()
    if not text:
        raise BadRequest("the patch body is empty")
    try:
        doc = orjson.loads(text) if text[:1] == b"{" else yaml.safe_load(text.decode("utf-8"))
    except (ValueError, yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadRequest(f"error decoding YAML: {first}") from None
    if not isinstance(doc, dict):
        raise BadRequest("error decoding YAML: the apply configuration must be an object")
    return doc


def _check_config(rt: ResourceType, config: dict[str, Any]) -> None:
    for key, label, want in (
        ("apiVersion", "API version", rt.api_version),
        ("kind", "kind", rt.kind),
    ):
        given = config.get(key)
        if not given:
            title = key[0].upper() + key[1:]
            raise BadRequest(f"Object '{title}' is missing in the apply configuration")
        if given != want:
            raise BadRequest(
                f"the {label} in the data ({given}) does not match the expected {label} ({want})"
            )
    meta = config.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise BadRequest("metadata must be an object")
    if isinstance(meta, dict) and meta.get(MANAGED_FIELDS) is not None:
        raise BadRequest("metadata.managedFields must be nil")


def _context(v: Verb) -> str:
    return f"{v.namespace}/{v.name}; {v.rt.api_version}, Kind={v.rt.kind}"


async def server_side_apply(v: Verb, raw: bytes) -> Response:
    manager = apply_manager(v.request)
    force = force_of(v.request, apply=True)
    config = parse_config(raw)
    _check_config(v.rt, config)
    directive = parse_field_validation(query_one(v.request, "fieldValidation") or None)
    schema = v.rt.custom.schema if v.rt.custom is not None else None
    types = field_types(v.rt)
    subresource = v.info.subresource
    writer = writer_for(v.rt, manager, subresource)
    wants_rv = bool((config.get("metadata") or {}).get("resourceVersion"))
    warnings: list[str] = []
    applied = Applied()
    dry = dry_run(v.request)

    def compute(live: dict[str, Any] | None) -> dict[str, Any]:
        entries: list[Entry] = []
        base = None
        if live is not None:
            meta = live.get("metadata") or {}
            entries = decode_entries(meta.get(MANAGED_FIELDS))
            base = live  # a private copy (mutate_object's)
            base.setdefault("metadata", {}).pop(MANAGED_FIELDS, None)
            if not wants_rv:
                base["metadata"].pop("resourceVersion", None)
        try:
            merged, applied.entries = apply_config(
                types, base, config, writer, entries, force=force
            )
        except ManagedFieldsError as exc:
            raise exc.to_status_error(_context(v)) from None
        merged = json_copy(merged)
        warnings[:] = check_object(merged, v.rt.gvk, directive, schema=schema).warnings
        if v.rt.custom is not None:
            warnings.extend(v.rt.custom.write_warnings)
        return merged

    for _ in range(_CREATE_ATTEMPTS):
        try:
            stored = await mutate_object(
                v.backend,
                v.rt,
                v.namespace,
                v.name,
                compute,
                subresource=subresource,
                dry_run=dry,
                admission=v.parts.admission,
                ownership=applied,
            )
        except NotFound:
            if subresource:
                raise
        else:
            return with_warnings(body_response(v.request, 200, stored.body), warnings)
        obj = compute(None)
        meta = obj.setdefault("metadata", {})
        if (meta.get("name") or "") != v.name:
            raise BadRequest(
                f"the name of the object ({meta.get('name') or ''}) does not match the name "
                f"on the URL ({v.name})"
            )
        try:
            created = await create_object(
                v.backend,
                v.rt,
                v.namespace,
                obj,
                dry_run=dry,
                admission=v.parts.admission,
                ownership=applied,
            )
        except AlreadyExists:
            continue  # created meanwhile: apply to it
        return with_warnings(body_response(v.request, 201, created.body), warnings)
    raise AlreadyExists(v.rt.resource, v.name, group=v.rt.group)
