"""Patch metadata read from the Kubernetes 1.32 OpenAPI schemas, per kind.

kube-apiserver takes a field's strategic-merge behaviour from the Go struct
tags of its kind; the same tags are published in OpenAPI as
``x-kubernetes-patch-strategy`` and ``x-kubernetes-patch-merge-key``. This
module answers `PatchMeta.lookup` from those extensions in the schemas Corral
ships (`corral.machinery.openapi`), so every merge list of every built-in kind
(webhooks by name, PodDisruptionBudget's replaced selector, CSINode drivers,
...) behaves as upstream, not only the hand-written table in `patch_meta`.

Decisions:

- a path walks ``properties`` (following ``$ref`` and ``allOf``), steps into
  ``items`` for arrays (list elements add no path segment) and into
  ``additionalProperties`` for map keys; a field without the extensions has no
  strategy (maps merge, lists are replaced), exactly as upstream;
- a list's element kind is "map" when its items are objects, else "primitive";
- `patch_meta_for` picks the schema from an object's ``apiVersion`` and
  ``kind``; an object whose kind the schemas do not describe (a document with
  no kind, a Corral-only kind) or a server without readable schemas falls back
  to the kind-agnostic `BUILTIN_PATCH_META` table.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final

from corral.machinery.openapi import GVK, Definitions, OpenAPIError, builtin_definitions

from .patch_meta import BUILTIN_PATCH_META, FieldPatchMeta, ListKind, PatchMeta

__all__ = ["PATCH_MERGE_KEY", "PATCH_STRATEGY", "SchemaPatchMeta", "patch_meta_for"]

PATCH_STRATEGY: Final = "x-kubernetes-patch-strategy"
PATCH_MERGE_KEY: Final = "x-kubernetes-patch-merge-key"

_Schema = Mapping[str, Any]


class SchemaPatchMeta:
    """A `PatchMeta` for one kind, answered from its OpenAPI schema (cached per path)."""

    def __init__(self, definitions: Definitions, root: str) -> None:
        self._definitions = definitions
        self._root = definitions.schemas[root]
        self._cache: dict[tuple[str, ...], FieldPatchMeta | None] = {}

    def lookup(self, path: tuple[str, ...]) -> FieldPatchMeta | None:
        try:
            return self._cache[path]
        except KeyError:
            pass
        found = _field_meta(self._field_schema(path), self._definitions) if path else None
        self._cache[path] = found  # a racing thread computes the same answer
        return found

    def _field_schema(self, path: tuple[str, ...]) -> _Schema | None:
        """The (unresolved) schema of the field at `path`, carrying its extensions."""
        node: _Schema | None = self._root
        for segment in path:
            container = self._resolve(node)
            while container is not None and container.get("type") == "array":
                container = self._resolve(container.get("items"))
            if container is None:
                return None
            properties = container.get("properties")
            if isinstance(properties, Mapping) and segment in properties:
                node = properties[segment]
            elif isinstance(extra := container.get("additionalProperties"), Mapping):
                node = extra
            else:
                return None
        return node

    def _resolve(self, node: object) -> _Schema | None:
        return _resolve(node, self._definitions)


def _resolve(node: object, definitions: Definitions) -> _Schema | None:
    """Follow ``$ref`` (directly or as the only ``allOf`` member) to the schema itself."""
    for _ in range(16):  # refs never chain this deep; guards against a cycle
        if not isinstance(node, Mapping):
            return None
        ref = node.get("$ref")
        if ref is None:
            all_of = node.get("allOf")
            if isinstance(all_of, list) and len(all_of) == 1:
                ref = all_of[0].get("$ref") if isinstance(all_of[0], Mapping) else None
        if not isinstance(ref, str):
            return node
        try:
            node = definitions.resolve(ref)
        except OpenAPIError:
            return None
    return None


def _field_meta(field: _Schema | None, definitions: Definitions) -> FieldPatchMeta | None:
    if field is None:
        return None
    strategy = field.get(PATCH_STRATEGY)
    merge_key = field.get(PATCH_MERGE_KEY)
    if strategy is None and merge_key is None:
        return None
    list_kind: ListKind | None = None
    if field.get("type") == "array":
        items = _resolve(field.get("items"), definitions)
        is_map = items is not None and (items.get("type") == "object" or "properties" in items)
        list_kind = "map" if is_map else "primitive"
    return FieldPatchMeta.parse(
        strategy if isinstance(strategy, str) else "",
        merge_key if isinstance(merge_key, str) else None,
        list_kind,
    )


@lru_cache(maxsize=512)
def _meta_for_gvk(group: str, version: str, kind: str) -> PatchMeta | None:
    try:
        definitions = builtin_definitions()
        root = definitions.name_for(GVK(group, version, kind))
    except OpenAPIError:
        return None
    return SchemaPatchMeta(definitions, root)


def patch_meta_for(obj: Mapping[str, Any]) -> PatchMeta:
    """The patch metadata of `obj`'s kind (from ``apiVersion``/``kind``), or the table."""
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    if isinstance(api_version, str) and isinstance(kind, str) and kind:
        group, _, version = api_version.rpartition("/")
        meta = _meta_for_gvk(group, version, kind)
        if meta is not None:
            return meta
    return BUILTIN_PATCH_META
