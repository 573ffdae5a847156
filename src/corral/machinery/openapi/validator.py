"""Checking a JSON object against an OpenAPI v3 schema, the way kube-apiserver does.

One walker serves both worlds: built-in kinds (their schemas reference each
other through ``$ref``, resolved by a :class:`Resolver`) and CRD
``openAPIV3Schema`` structural schemas (no refs). It decides:

* types — integer, number, string, boolean, object, array; ``nullable``; a
  ``oneOf`` of plain types (Quantity, IntOrString in the v3 documents) is a union;
  ``x-kubernetes-int-or-string`` / ``format: int-or-string``;
* resource quantities (refs to ``…api.resource.Quantity``) by the Go decoder's rule;
* ``required``, ``enum``, maps (``additionalProperties``), arrays (``items``),
  and the value validations of :mod:`constraints` (bounds, lengths, patterns, formats);
* ``x-kubernetes-preserve-unknown-fields`` and ``x-kubernetes-embedded-resource``;
* for CRDs (``structural=True``) also ``x-kubernetes-list-type`` set/map
  uniqueness, and ``null`` only where ``nullable`` (built-in kinds, decoded by
  Go, read ``null`` as "absent");
* unknown fields, reported apart from the errors (``fieldValidation`` decides
  what they become), and optionally pruned in place.

Error wording follows Kubernetes: a wrong type is
``spec.replicas: Invalid value: "string": spec.replicas in body must be of type
integer: "string"``; a missing field ``…: Required value``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from corral.machinery.openapi.constraints import CONSTRAINT_KEYS, value_errors
from corral.machinery.openapi.definitions import (
    GVK,
    V3_PREFIX,
    Definitions,
    builtin_definitions,
)
from corral.machinery.openapi.errors import SchemaNotFound
from corral.machinery.openapi.quantity import quantity_error
from corral.machinery.status import FieldError

QUANTITY_REF = "io.k8s.apimachinery.pkg.api.resource.Quantity"
#: managedFields' field sets: opaque JSON (their keys are ``f:spec``…), even
#: under a custom resource's structural schema, which would prune them.
FIELDS_V1_REF = "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1"
OBJECT_META_REF = V3_PREFIX + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_EMBEDDED_FIELDS = ("apiVersion", "kind", "metadata")
_COMBINATORS = frozenset({"allOf", "oneOf", "anyOf", "not"})


class Resolver(Protocol):
    """Finds the schema a ``$ref`` names (``#/components/schemas/<name>``)."""

    def resolve(self, ref: str) -> Mapping[str, Any]: ...


@dataclass
class ValidationResult:
    """What one validation found: field errors, and unknown fields kept apart."""

    errors: list[FieldError] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No field errors (unknown fields are for ``fieldValidation`` to judge)."""
        return not self.errors


def type_name(value: object) -> str:
    """The JSON type name of a value, as OpenAPI error messages print it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _is_type(value: object, kind: str) -> bool:
    if kind == "integer":
        if isinstance(value, float):
            return value.is_integer()
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    return True


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _NoRefs:
    def resolve(self, ref: str) -> Mapping[str, Any]:
        raise SchemaNotFound(f"$ref {ref!r} in a schema without definitions")


class Validator:
    """Validates objects against schemas that may reference ``resolver``'s definitions."""

    def __init__(self, resolver: Resolver | None = None, *, structural: bool = False) -> None:
        self._resolver: Resolver = resolver or _NoRefs()
        self._structural = structural

    def validate(
        self, obj: object, schema: Mapping[str, Any], *, prune: bool = False, path: str = ""
    ) -> ValidationResult:
        """Check ``obj``; with ``prune`` unknown fields are also removed from it in place."""
        result = ValidationResult()
        self._walk(obj, schema, path, result, prune)
        return result

    def _deref(self, schema: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
        if "$ref" not in schema and "allOf" not in schema:
            return schema, ""
        name = ""
        for _ in range(64):
            ref = schema.get("$ref")
            if ref is None:
                all_of = schema.get("allOf")
                if (
                    isinstance(all_of, list)
                    and len(all_of) == 1
                    and "$ref" in all_of[0]
                    and "type" not in schema
                    and "properties" not in schema
                ):
                    ref = all_of[0]["$ref"]
                else:
                    return schema, name
            name = str(ref).rsplit("/", 1)[-1]
            schema = self._resolver.resolve(str(ref))
        return schema, name

    def _walk(
        self,
        value: object,
        schema: Mapping[str, Any],
        path: str,
        out: ValidationResult,
        prune: bool,
    ) -> None:
        schema, ref = self._deref(schema)
        if value is None:
            if schema.get("nullable") or not self._structural or not schema:
                return
            if "type" in schema or "properties" in schema:
                expected = schema.get("type", "object")
                out.errors.append(_type_error(path, value, str(expected)))
                return
        if ref == FIELDS_V1_REF:
            if not isinstance(value, dict):
                out.errors.append(_type_error(path, value, "object"))
            return
        if ref == QUANTITY_REF:
            message = quantity_error(value)
            if message:
                out.errors.append(FieldError.invalid(path, value, message))
            return
        if not self._check_type(value, schema, path, out):
            return
        enum = schema.get("enum")
        if enum is not None and value not in enum:
            out.errors.append(FieldError.not_supported(path, value, [str(v) for v in enum]))
        if schema.keys() & CONSTRAINT_KEYS:
            out.errors.extend(value_errors(value, schema, path))
        if isinstance(value, dict):
            self._walk_object(value, schema, path, out, prune)
        elif isinstance(value, list):
            items = schema.get("items")
            if isinstance(items, Mapping):
                for index, item in enumerate(value):
                    self._walk(item, items, f"{path}[{index}]", out, prune)
            if self._structural:
                self._check_list_type(value, schema, path, out)
        if schema.keys() & _COMBINATORS:
            self._check_combinators(value, schema, path, out)

    def _check_type(
        self, value: object, schema: Mapping[str, Any], path: str, out: ValidationResult
    ) -> bool:
        if schema.get("x-kubernetes-int-or-string") or schema.get("format") == "int-or-string":
            if _is_type(value, "integer") or isinstance(value, str):
                return True
            out.errors.append(_type_error(path, value, "integer,string"))
            return False
        expected = schema.get("type")
        if expected is None:
            union = _type_union(schema)
            if union:
                if any(_is_type(value, kind) for kind in union):
                    return True
                out.errors.append(_type_error(path, value, ",".join(union)))
                return False
            if "properties" in schema or "additionalProperties" in schema:
                expected = "object"
            else:
                return True
        kinds = expected if isinstance(expected, list) else [expected]
        if any(_is_type(value, str(kind)) for kind in kinds):
            return True
        out.errors.append(_type_error(path, value, ",".join(map(str, kinds))))
        return False

    def _walk_object(
        self,
        value: dict[str, Any],
        schema: Mapping[str, Any],
        path: str,
        out: ValidationResult,
        prune: bool,
    ) -> None:
        properties: Mapping[str, Any] = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        if not properties and additional is None:
            # No fields declared: free-form (RawExtension, FieldsV1, a CRD's JSON
            # default), except a structural ``type: object``, which keeps nothing.
            preserve = preserve or not self._structural or "type" not in schema
        embedded = bool(schema.get("x-kubernetes-embedded-resource"))
        unknown: list[str] = []
        for key, item in value.items():
            prop = properties.get(key)
            if prop is not None:
                self._walk(item, prop, _child(path, key), out, prune)
            elif isinstance(additional, Mapping):
                self._walk(item, additional, f"{path}[{key}]", out, prune)
            elif additional is True or preserve or (embedded and key in _EMBEDDED_FIELDS):
                continue
            else:
                unknown.append(key)
        for key in unknown:
            out.unknown_fields.append(_child(path, key))
            if prune:
                del value[key]
        for name in schema.get("required") or ():
            if name not in value or (value[name] is None and not self._structural):
                out.errors.append(FieldError.required(_child(path, name)))
        if embedded:
            for name in ("apiVersion", "kind"):
                if not value.get(name):
                    out.errors.append(FieldError.required(_child(path, name), "must not be empty"))
            if "metadata" in value and not isinstance(value["metadata"], (dict, type(None))):
                out.errors.append(
                    _type_error(_child(path, "metadata"), value["metadata"], "object")
                )

    def _check_list_type(
        self, value: list[Any], schema: Mapping[str, Any], path: str, out: ValidationResult
    ) -> None:
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "set":
            seen: list[object] = []
            for index, item in enumerate(value):
                if item in seen:
                    out.errors.append(FieldError.duplicate(f"{path}[{index}]", item))
                else:
                    seen.append(item)
        elif list_type == "map":
            keys = list(schema.get("x-kubernetes-list-map-keys") or ())
            seen_keys: set[str] = set()
            for index, item in enumerate(value):
                if not isinstance(item, dict):
                    continue
                key_value = {k: item[k] for k in keys if k in item}
                marker = repr(sorted(key_value.items()))
                if marker in seen_keys:
                    out.errors.append(FieldError.duplicate(f"{path}[{index}]", key_value))
                seen_keys.add(marker)

    def _check_combinators(
        self, value: object, schema: Mapping[str, Any], path: str, out: ValidationResult
    ) -> None:
        for sub in schema.get("allOf") or ():
            out.errors.extend(self._errors_only(value, sub, path))
        for keyword, text in (("oneOf", "one and only one"), ("anyOf", "at least one")):
            branches = schema.get(keyword)
            if not branches or (_type_union(schema) and keyword == "oneOf"):
                continue
            matches = sum(not self._errors_only(value, sub, path) for sub in branches)
            if matches == 0 or (keyword == "oneOf" and matches > 1):
                detail = f"{path or '<root>'} in body must validate {text} schema ({keyword})"
                out.errors.append(FieldError.invalid(path, value, detail))
        negated = schema.get("not")
        if isinstance(negated, Mapping) and not self._errors_only(value, negated, path):
            detail = f"{path or '<root>'} in body must not validate the schema (not)"
            out.errors.append(FieldError.invalid(path, value, detail))

    def _errors_only(self, value: object, schema: Mapping[str, Any], path: str) -> list[FieldError]:
        probe = ValidationResult()
        self._walk(value, schema, path, probe, prune=False)
        return probe.errors


def _type_union(schema: Mapping[str, Any]) -> list[str]:
    """The types of a ``oneOf`` made only of ``{type: T}`` branches, else ``[]``."""
    branches = schema.get("oneOf")
    if not isinstance(branches, list) or not branches:
        return []
    kinds = []
    for branch in branches:
        if not isinstance(branch, Mapping) or set(branch) != {"type"}:
            return []
        kinds.append(str(branch["type"]))
    return kinds


def _type_error(path: str, value: object, expected: str) -> FieldError:
    actual = type_name(value)
    where = path or "<root>"
    return FieldError.type_invalid(
        path, actual, f'{where} in body must be of type {expected}: "{actual}"'
    )


def custom_resource_root(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A CRD's ``openAPIV3Schema`` with root ``metadata`` as ObjectMeta, as the API reads it."""
    properties = dict(schema.get("properties") or {})
    properties["metadata"] = {"$ref": OBJECT_META_REF}
    # apiVersion and kind are always kept, whether the schema lists them or not.
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    return {**schema, "properties": properties}


def validate(
    obj: object,
    gvk: GVK | tuple[str, str, str],
    *,
    schema: Mapping[str, Any] | None = None,
    definitions: Definitions | None = None,
    prune: bool = False,
) -> ValidationResult:
    """Validate ``obj`` as a ``gvk``.

    Without ``schema`` the kind's built-in (or ``definitions``') schema is used,
    with Go-decoder semantics (``null`` is absent); with ``schema`` (a CRD's
    ``openAPIV3Schema``) structural-schema semantics apply. :class:`SchemaNotFound`
    if the kind has no schema.
    """
    defs = definitions or builtin_definitions()
    if schema is not None:
        root = custom_resource_root(schema)
        return Validator(defs, structural=True).validate(obj, root, prune=prune)
    return Validator(defs).validate(obj, defs.for_gvk(GVK(*gvk)), prune=prune)
