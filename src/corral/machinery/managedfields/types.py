"""How each field of a kind merges, derived once per kind from its OpenAPI schema.

Structured-merge-diff needs, at every path, one of four shapes:

- a leaf: scalars, and everything atomic — lists of type ``atomic`` (and
  built-in lists without merge metadata), maps and structs with
  ``x-kubernetes-map-type: atomic``, and values the schema does not describe
  (``x-kubernetes-preserve-unknown-fields``, ``type: object`` without
  properties): set and owned as a whole;
- an object: a struct (declared ``properties``) and/or a map
  (``additionalProperties``), merged field by field;
- a set: a list of type ``set`` (built-in: ``x-kubernetes-patch-strategy:
  merge`` without a merge key), items owned one by one by value;
- a map list: a list of type ``map`` keyed by ``x-kubernetes-list-map-keys``
  (built-in: the ``x-kubernetes-patch-merge-key``), items owned by key.

The built-in kinds' schemas are Kubernetes 1.32's (`corral.machinery.openapi`);
a custom resource's are its CRD version's ``openAPIV3Schema``, with
``metadata`` always ObjectMeta's. Types are built lazily (a field's type is
resolved on first use, which also makes recursive schemas such as
JSONSchemaProps finite) and cached per GVK (`types_for`), so the cost is paid
once per kind and only for the paths objects really have.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from corral.machinery.openapi import GVK, Definitions, SchemaNotFound, builtin_definitions
from corral.machinery.protobuf.tables import builtin_tables

LEAF, OBJECT, SET, MAP_LIST = 0, 1, 2, 3

_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


class FieldType:
    """The merge shape of one path (see the module docstring), resolved lazily."""

    __slots__ = (
        "_builder",
        "_elem",
        "_elem_schema",
        "_fields",
        "_props",
        "custom",
        "key_defaults",
        "keys",
        "kind",
        "pointers",
        "required",
    )

    def __init__(
        self,
        builder: TypeBuilder | None,
        kind: int,
        *,
        props: Mapping[str, Any] | None = None,
        elem_schema: Any = None,
        keys: tuple[str, ...] = (),
        required: frozenset[str] = frozenset(),
        pointers: frozenset[str] = frozenset(),
    ) -> None:
        self._builder = builder
        self.kind = kind
        self._props: Mapping[str, Any] = props or {}
        self._fields: dict[str, FieldType] = {}
        self._elem_schema = elem_schema
        self._elem: FieldType | None = None
        self.keys = keys
        self.key_defaults: dict[str, Any] = {}
        self.required = required
        #: Struct fields that are Go pointers (absent from a zero object): built-in kinds only.
        self.pointers = pointers
        self.custom = builder.custom if builder is not None else False

    @property
    def is_struct(self) -> bool:
        """An object with declared fields (a Go struct), not a plain map."""
        return self.kind == OBJECT and bool(self._props)

    def declares(self, name: str) -> bool:
        return name in self._props

    def field(self, name: str) -> FieldType | None:
        """The type of an object's field ``name``; None if the schema has no place for it."""
        found = self._fields.get(name)
        if found is not None:
            return found
        schema = self._props.get(name)
        if schema is None:
            return self.elem()
        assert self._builder is not None
        found = self._builder.build(schema)
        self._fields[name] = found
        return found

    def elem(self) -> FieldType | None:
        """The type of a list's items or a map's values (None: undeclared)."""
        if self._elem is None and self._elem_schema is not None:
            assert self._builder is not None
            self._elem = (
                LEAF_TYPE if self._elem_schema is True else self._builder.build(self._elem_schema)
            )
        return self._elem


LEAF_TYPE = FieldType(None, LEAF)


def _ext(outer: Mapping[str, Any], inner: Mapping[str, Any], name: str) -> Any:
    return outer.get(name, inner.get(name))


class TypeBuilder:
    """Turns schemas into `FieldType`s, resolving ``$ref`` against ``definitions``."""

    def __init__(self, definitions: Definitions, *, custom: bool) -> None:
        self.definitions = definitions
        self.custom = custom
        self._by_id: dict[int, tuple[Any, FieldType]] = {}

    def _deref(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        return self._deref_named(schema)[0]

    def _deref_named(self, schema: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
        """The schema a ``$ref`` (or a single ``allOf`` ref) leads to, and its definition name."""
        seen, name = 0, ""
        while seen < 8:
            ref = schema.get("$ref")
            if ref is None:
                all_of = schema.get("allOf")
                if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
                    ref = all_of[0].get("$ref")
            if not isinstance(ref, str):
                return schema, name
            try:
                schema = self.definitions.resolve(ref)
                name = ref.rsplit("/", 1)[-1]
            except SchemaNotFound:
                return {}, ""
            seen += 1
        return schema, name

    def build(self, schema: Any) -> FieldType:
        if not isinstance(schema, Mapping):
            return LEAF_TYPE
        cached = self._by_id.get(id(schema))
        if cached is not None and cached[0] is schema:
            return cached[1]
        built = self._convert(schema)
        self._by_id[id(schema)] = (schema, built)
        return built

    def _convert(self, outer: Mapping[str, Any]) -> FieldType:
        inner, name = self._deref_named(outer)
        if _ext(outer, inner, "x-kubernetes-int-or-string"):
            return LEAF_TYPE
        kind = inner.get("type")
        if kind == "array":
            return self._list(outer, inner)
        props = inner.get("properties")
        extra = inner.get("additionalProperties")
        if kind == "object" or props or extra:
            if _ext(outer, inner, "x-kubernetes-map-type") == "atomic":
                return LEAF_TYPE
            if not isinstance(props, Mapping):
                props = {}
            if not isinstance(extra, Mapping):
                preserve = _ext(outer, inner, "x-kubernetes-preserve-unknown-fields")
                extra = True if (preserve or extra is True) else None
            if not props and (extra is None or extra is True):
                return LEAF_TYPE
            required = inner.get("required")
            return FieldType(
                self,
                OBJECT,
                props=props,
                elem_schema=extra,
                required=frozenset(required) if isinstance(required, list) else frozenset(),
                pointers=frozenset() if self.custom else go_pointer_fields(name),
            )
        return LEAF_TYPE

    def _list(self, outer: Mapping[str, Any], inner: Mapping[str, Any]) -> FieldType:
        list_type = _ext(outer, inner, "x-kubernetes-list-type")
        keys: list[str] = list(_ext(outer, inner, "x-kubernetes-list-map-keys") or ())
        if list_type is None and not self.custom:
            strategy = str(_ext(outer, inner, "x-kubernetes-patch-strategy") or "")
            merge_key = _ext(outer, inner, "x-kubernetes-patch-merge-key")
            if "merge" in strategy.split(","):
                list_type = "map" if merge_key else "set"
                keys = [merge_key] if merge_key else []
        items = inner.get("items")
        if list_type == "set":
            return FieldType(self, SET, elem_schema=items)
        if list_type == "map" and keys:
            built = FieldType(self, MAP_LIST, elem_schema=items, keys=tuple(keys))
            item = built.elem()
            if item is not None and item.kind == OBJECT:
                for key in keys:
                    default = _key_default(self, item, key)
                    if default is None and key == "protocol" and not self.custom:
                        default = "TCP"  # every built-in port list defaults it (not in the schema)
                    if default is not None:
                        built.key_defaults[key] = default
            return built
        return LEAF_TYPE


def _key_default(builder: TypeBuilder, item: FieldType, key: str) -> Any:
    schema = item._props.get(key)
    if not isinstance(schema, Mapping):
        return None
    default = schema.get("default")
    if default is None:
        default = builder._deref(schema).get("default")
    return default


def go_pointer_fields(definition: str) -> frozenset[str]:
    """The JSON names of a built-in type's struct fields that are Go pointers.

    Kubernetes compares an update with the Go object it decoded, where value
    structs always exist and pointers only when set; only the latter can be
    "added". The protobuf tables (`corral.machinery.protobuf`) know which is which.
    """
    if not definition.startswith("io.k8s."):
        return frozenset()
    return _pointers_of("k8s.io." + definition[len("io.k8s.") :])


def _pointers_of(message: str) -> frozenset[str]:
    spec = builtin_tables().message(message)
    if spec is None:
        return frozenset()
    out: set[str] = set()
    for field in spec.fields.values():
        if field.inline:
            out |= _pointers_of(field.type.lstrip("."))
        elif field.pointer:
            out.add(field.json_name)
    return frozenset(out)


_lock = threading.Lock()
_builtin: dict[GVK, FieldType] = {}
_custom: dict[GVK, tuple[Any, FieldType]] = {}
_builders: dict[bool, TypeBuilder] = {}


def _builder(custom: bool) -> TypeBuilder:
    found = _builders.get(custom)
    if found is None:
        found = _builders[custom] = TypeBuilder(builtin_definitions(), custom=custom)
    return found


def types_for(gvk: GVK, crd_schema: Mapping[str, Any] | None = None) -> FieldType:
    """The root type of ``gvk`` (a custom resource's from ``crd_schema``), cached."""
    with _lock:
        if crd_schema is None:
            found = _builtin.get(gvk)
            if found is None:
                builder = _builder(False)
                try:
                    schema: Any = builder.definitions.for_gvk(gvk)
                except SchemaNotFound:
                    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                found = _builtin[gvk] = _with_object_meta(builder, schema)
            return found
        cached = _custom.get(gvk)
        if cached is not None and cached[0] is crd_schema:
            return cached[1]
        root = _with_object_meta(_builder(True), crd_schema)
        _custom[gvk] = (crd_schema, root)
        return root


def _with_object_meta(builder: TypeBuilder, schema: Mapping[str, Any]) -> FieldType:
    props = dict(schema.get("properties") or {})
    props["metadata"] = {"$ref": "#/components/schemas/" + _OBJECT_META}
    props.setdefault("apiVersion", {"type": "string"})
    props.setdefault("kind", {"type": "string"})
    extra = schema.get("additionalProperties")
    if not isinstance(extra, Mapping) and schema.get("x-kubernetes-preserve-unknown-fields"):
        extra = True
    return FieldType(builder, OBJECT, props=props, elem_schema=extra)
