"""Structural defaulting of custom resources, and the `Strategy` of a CRD version.

Kubernetes applies a CRD schema's ``default:`` values when an object is
written: top-down, a property that is missing (or ``null`` where the schema
is not ``nullable``) gets a copy of its default, then the walk goes on into
that value, so defaults inside a defaulted object apply too. It walks
``properties``, ``additionalProperties`` and ``items``; ``metadata`` is never
defaulted (only ``metadata.name``/``generateName`` rules apply there, done by
the store). The schema check, pruning and ``fieldValidation`` happen before
this, when the body is read (`corral.apiserver.handlers.io`).

`CustomStrategy` defaults with the schema and otherwise behaves as
`corral.machinery.validation`'s strategy for an unknown kind (metadata rules,
DNS-1123 subdomain names).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from corral.machinery.status import FieldError
from corral.machinery.validation import Strategy

Obj = dict[str, Any]


def apply_defaults(value: object, schema: Mapping[str, Any]) -> None:
    """Fill in ``schema``'s defaults in ``value`` (in place), top-down."""
    if isinstance(value, dict):
        properties = schema.get("properties")
        if isinstance(properties, Mapping):
            for key, sub in properties.items():
                if not isinstance(sub, Mapping):
                    continue
                missing = key not in value or (value[key] is None and not sub.get("nullable"))
                if missing and "default" in sub:
                    value[key] = copy.deepcopy(sub["default"])
                if key in value:
                    apply_defaults(value[key], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            known = properties if isinstance(properties, Mapping) else {}
            for key, item in value.items():
                if key not in known:
                    apply_defaults(item, extra)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for item in value:
                apply_defaults(item, items)


def default_object(obj: Obj, schema: Mapping[str, Any]) -> None:
    """Apply ``schema``'s defaults to a custom resource (all but ``metadata``)."""
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return
    root = {**schema, "properties": {k: v for k, v in properties.items() if k != "metadata"}}
    apply_defaults(obj, root)


class CustomStrategy:
    """Schema defaults, then the base strategy's defaults and rules."""

    def __init__(self, schema: Mapping[str, Any], base: Strategy) -> None:
        self.schema = schema
        self._base = base

    def default(self, obj: Obj) -> None:
        default_object(obj, self.schema)
        self._base.default(obj)

    def validate_create(self, obj: Obj) -> list[FieldError]:
        return self._base.validate_create(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return self._base.validate_update(new, old)
