"""Computing a strategic merge patch between two objects, as kubectl does.

`create_two_way_patch` is what client-side three-way apply and `kubectl edit`
build on: maps are diffed key by key (removed keys become nulls), lists with a
merge key are diffed element by element with removals as ``$patch: delete``
elements and the final order as ``$setElementOrder/<field>``, and primitive
merge lists become additions plus ``$deleteFromPrimitiveList/<field>``. Union
maps (retainKeys strategy) get ``$retainKeys``.

It prefers a correct patch to a small one: where a list cannot be diffed by key
(duplicate, missing or non-scalar keys; duplicate primitives) the list is
replaced whole with a ``{"$patch": "replace"}`` element. (For a list of
primitives that marker is a Corral extension kube-apiserver would refuse; it
only arises for lists holding duplicates, which a set merge cannot keep.) Like
any merge patch it cannot set a null value inside an object.
"""

from __future__ import annotations

from typing import Any

from ._json import JSONObject, JSONValue, deep_copy, json_equal, scalar_key, type_name
from .errors import PatchCreateError
from .patch_meta import (
    DELETE_FROM_PRIMITIVE_LIST,
    PATCH,
    RETAIN_KEYS,
    SET_ELEMENT_ORDER,
    FieldPatchMeta,
    PatchMeta,
    field_path,
)
from .schema_meta import patch_meta_for

__all__ = ["create_two_way_patch"]


def create_two_way_patch(
    original: JSONObject, modified: JSONObject, meta: PatchMeta | None = None
) -> JSONObject:
    """Return a strategic merge patch that turns `original` into `modified`.

    `apply_strategic_merge_patch(original, patch, meta)` equals `modified`
    whenever `modified` holds no null inside an object. Without `meta`, the
    strategies of the objects' kind come from the OpenAPI schemas
    (`schema_meta.patch_meta_for`). Raises
    `PatchCreateError` when a merge-keyed list holds something other than
    objects, or a primitive merge list holds objects or arrays.
    """
    if not isinstance(original, dict) or not isinstance(modified, dict):
        raise PatchCreateError(
            "a strategic merge patch is computed between two JSON objects, not "
            f"{type_name(original)} and {type_name(modified)}"
        )
    if meta is None:
        meta = patch_meta_for(modified if "kind" in modified else original)
    return _diff_maps(original, modified, (), meta, retain=False)


def _diff_maps(
    original: dict[str, Any],
    modified: dict[str, Any],
    path: tuple[str, ...],
    meta: PatchMeta,
    *,
    retain: bool,
) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for key, new in modified.items():
        if new is None:
            if original.get(key) is not None:
                patch[key] = None
        else:
            _diff_value(patch, key, original.get(key), new, (*path, key), meta)
    for key in original:
        if key not in modified:
            patch[key] = None
    if retain and patch and original:
        keep = sorted(k for k, v in modified.items() if v is not None)
        if keep:
            patch[RETAIN_KEYS] = keep
    return patch


def _diff_value(
    patch: dict[str, Any],
    key: str,
    old: JSONValue,
    new: JSONValue,
    path: tuple[str, ...],
    meta: PatchMeta,
) -> None:
    """Record in `patch` what turns `old` (None when absent) into `new` (never None)."""
    fm = meta.lookup(path)
    if isinstance(new, dict):
        if isinstance(old, dict) and not (fm is not None and fm.replace):
            retain = fm is not None and fm.retain_keys
            sub = _diff_maps(old, new, path, meta, retain=retain)
            if sub:
                patch[key] = sub
        elif not json_equal(old, new):
            patch[key] = _diff_maps({}, new, path, meta, retain=False)
    elif isinstance(new, list) and fm is not None and fm.merge:
        old_list = old if isinstance(old, list) else None
        if fm.merge_key is not None and fm.list_kind != "primitive":
            _diff_map_list(patch, key, old_list, new, path, fm, meta)
        else:
            _diff_primitive_list(patch, key, old_list, new, path)
    elif not json_equal(old, new):
        patch[key] = deep_copy(new)


def _diff_map_list(
    patch: dict[str, Any],
    key: str,
    old: list[Any] | None,
    new: list[Any],
    path: tuple[str, ...],
    fm: FieldPatchMeta,
    meta: PatchMeta,
) -> None:
    merge_key = fm.merge_key
    assert merge_key is not None
    for element in new:
        if not isinstance(element, dict):
            raise PatchCreateError(
                f"{field_path(path)} merges by {merge_key!r} but holds {type_name(element)}",
                path=field_path(path),
            )
    new_by_key = _index_by_key(new, merge_key)
    old_by_key = _index_by_key(old or [], merge_key)
    if new_by_key is None or old_by_key is None:
        # Missing, duplicate or non-scalar keys: only a full replacement is exact.
        if old is None or not json_equal(old, new):
            elements = [_diff_maps({}, e, path, meta, retain=False) for e in new]
            patch[key] = [*elements, {PATCH: "replace"}]
        return
    items: list[dict[str, Any]] = []
    for k, element in new_by_key.items():
        before = old_by_key.get(k)
        if before is None:
            items.append(_diff_maps({}, element, path, meta, retain=False))
        else:
            changes = _diff_maps(before, element, path, meta, retain=fm.retain_keys)
            if changes:
                items.append({merge_key: deep_copy(element[merge_key]), **changes})
    for k, element in old_by_key.items():
        if k not in new_by_key:
            items.append({merge_key: deep_copy(element[merge_key]), PATCH: "delete"})
    if not old:
        if old is None or items:
            patch[key] = items
        return
    if items:
        patch[key] = items
    if new and (items or list(old_by_key) != list(new_by_key)):
        patch[SET_ELEMENT_ORDER + key] = [{merge_key: deep_copy(e[merge_key])} for e in new]


def _index_by_key(elements: list[Any], merge_key: str) -> dict[Any, dict[str, Any]] | None:
    """Elements by merge key, in order; None unless every element has its own scalar key."""
    by_key: dict[Any, dict[str, Any]] = {}
    for element in elements:
        if not isinstance(element, dict) or element.get(merge_key) is None:
            return None
        k = scalar_key(element[merge_key])
        if k is None or k in by_key:
            return None
        by_key[k] = element
    return by_key


def _diff_primitive_list(
    patch: dict[str, Any], key: str, old: list[Any] | None, new: list[Any], path: tuple[str, ...]
) -> None:
    new_keys = [scalar_key(v) for v in new]
    if None in new_keys:
        raise PatchCreateError(
            f"{field_path(path)} is a set of primitives but holds an object or array",
            path=field_path(path),
        )
    old_keys = [scalar_key(v) for v in old or []]
    if None in old_keys or len(set(new_keys)) != len(new_keys):
        # Duplicates cannot survive a set merge: replace the list instead.
        if old is None or not json_equal(old, new):
            patch[key] = [*deep_copy(new), {PATCH: "replace"}]
        return
    old_set, new_set = set(old_keys), set(new_keys)
    additions = [v for v, k in zip(new, new_keys, strict=True) if k not in old_set]
    if not old:
        if old is None or additions:
            patch[key] = additions
        return
    deletions: list[Any] = []
    for v, k in zip(old, old_keys, strict=True):
        if k not in new_set and not any(json_equal(v, d) for d in deletions):
            deletions.append(v)
    if additions:
        patch[key] = additions
    if deletions:
        patch[DELETE_FROM_PRIMITIVE_LIST + key] = deletions
    if new and (additions or deletions or old_keys != new_keys):
        patch[SET_ELEMENT_ORDER + key] = list(new)
