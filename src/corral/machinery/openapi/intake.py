"""A write's body, from bytes to a checked object: parse, validate, prune, fieldValidation.

The API server's create, update and patch handlers all need the same steps,
in Kubernetes' order: parse the JSON or YAML body (watching for duplicate keys
unless the request said ``fieldValidation=Ignore``), check it against the
kind's schema (a wrong type or a missing required field fails the request
with 422 Invalid naming each field), drop the fields the schema does not know,
and let ``fieldValidation`` turn unknown and duplicate fields into a 400
(Strict) or warnings (Warn). :func:`decode_and_check` does exactly that;
:func:`check_object` does the steps after parsing, for a patch's result.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from corral.machinery.openapi.decode import Decoded, parse_json, parse_yaml
from corral.machinery.openapi.definitions import GVK, Definitions
from corral.machinery.openapi.errors import DecodeError
from corral.machinery.openapi.field_validation import (
    FieldValidation,
    apply_field_validation,
    decoding_context,
)
from corral.machinery.openapi.validator import validate
from corral.machinery.status import BadRequest, Invalid


@dataclass
class Intake:
    """The checked object (unknown fields pruned) and the warnings to send with the reply."""

    obj: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def _parse(body: bytes, yaml_body: bool, directive: FieldValidation) -> Decoded:
    if yaml_body:
        return parse_yaml(body)
    if directive is FieldValidation.IGNORE:
        try:
            return Decoded(orjson.loads(body))
        except orjson.JSONDecodeError as exc:
            raise DecodeError(str(exc)) from exc
    return parse_json(body)


def decode_and_check(
    body: bytes,
    gvk: GVK,
    directive: FieldValidation = FieldValidation.WARN,
    *,
    yaml_body: bool = False,
    schema: Mapping[str, Any] | None = None,
    definitions: Definitions | None = None,
    only: Collection[str] | None = None,
) -> Intake:
    """Parse and check a body for ``gvk``.

    ``schema`` is a CRD version's ``openAPIV3Schema`` (structural rules); without
    it the kind's built-in schema applies. ``only`` names the top-level fields
    that matter (a status write keeps only ``status`` of what it is sent, so
    checking a pod's whole spec again would be wasted work); the others are
    neither checked nor pruned. Raises :class:`BadRequest` for a body
    that is not one JSON/YAML object or for Strict field problems, and
    :class:`Invalid` for schema errors.
    """
    try:
        decoded = _parse(body, yaml_body, directive)
    except DecodeError as exc:
        raise BadRequest(f"{decoding_context(gvk.kind, gvk.version)}: {exc}") from None
    obj = decoded.obj
    if not isinstance(obj, dict):
        raise BadRequest(
            f"{decoding_context(gvk.kind, gvk.version)}: the body must be a JSON or YAML object"
        )
    return check_object(
        obj,
        gvk,
        directive,
        duplicates=decoded.duplicate_fields,
        schema=schema,
        definitions=definitions,
        only=only,
    )


def check_object(
    obj: dict[str, Any],
    gvk: GVK,
    directive: FieldValidation = FieldValidation.WARN,
    *,
    duplicates: Sequence[str] = (),
    schema: Mapping[str, Any] | None = None,
    definitions: Definitions | None = None,
    only: Collection[str] | None = None,
) -> Intake:
    """Check an already parsed object (a patch's result) as `decode_and_check` does.

    Unknown fields are removed from ``obj`` in place (within ``only``, if given).
    """
    view = obj if only is None else {k: v for k, v in obj.items() if k in only}
    result = validate(view, gvk, schema=schema, definitions=definitions, prune=True)
    if view is not obj:
        obj.update(view)  # pruning may have replaced values of the checked fields
    if result.errors:
        metadata = obj.get("metadata")
        name = metadata.get("name", "") if isinstance(metadata, dict) else ""
        raise Invalid(gvk.kind, str(name or ""), result.errors, group=gvk.group)
    context = decoding_context(gvk.kind, gvk.version) if schema is None else ""
    warnings = apply_field_validation(directive, result.unknown_fields, duplicates, context=context)
    return Intake(obj, warnings)
