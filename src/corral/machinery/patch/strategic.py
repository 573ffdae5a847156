"""Strategic merge patch (`application/strategic-merge-patch+json`) for built-in kinds.

The default patch format of `kubectl patch` and the one `kubectl apply` sends:
a JSON merge patch whose lists merge by a key where the field's patch metadata
says so (containers by name, ports by containerPort, ...), plus directives:

- ``$patch: replace | delete | merge`` in a map (replace it, delete it, merge it
  as usual) or as an element of a merge list (``{"$patch": "replace"}`` replaces
  the whole list, in lists of primitives too; ``{"name": "x", "$patch":
  "delete"}`` removes element "x");
- ``$setElementOrder/<field>``: the order the merged list must end up in;
- ``$deleteFromPrimitiveList/<field>``: values to remove from a primitive set;
- ``$retainKeys``: in a union map (retainKeys strategy), the keys to keep.

Any other ``$`` key or ``$patch`` value is an `UnknownDirectiveError`.

Merged lists are ordered as kube-apiserver orders them: elements named in
``$setElementOrder`` (or, without it, in the patch list) take that order among
themselves, elements only on the server keep theirs, and the two are
interleaved so that a named element goes before a server-only one only if it
was before it on the server; new elements therefore land after the server-only
elements. Patching existing elements in place or appending new ones keeps the
server's order.

The field strategies come from a `PatchMeta` (see `patch_meta`);
`create_two_way_patch` (see `strategic_diff`) computes such a patch between two
objects and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ._json import JSONObject, deep_copy, json_equal, render, scalar_key, type_name
from .errors import InvalidPatchError, PatchApplyError, UnknownDirectiveError
from .patch_meta import (
    BUILTIN_PATCH_META,
    DELETE_FROM_PRIMITIVE_LIST,
    PATCH,
    RETAIN_KEYS,
    SET_ELEMENT_ORDER,
    FieldPatchMeta,
    PatchMeta,
    TablePatchMeta,
    field_path,
)
from .schema_meta import patch_meta_for
from .strategic_diff import create_two_way_patch

__all__ = [
    "BUILTIN_PATCH_META",
    "FieldPatchMeta",
    "PatchMeta",
    "TablePatchMeta",
    "apply_strategic_merge_patch",
    "create_two_way_patch",
]

_MISSING: Final = object()


def apply_strategic_merge_patch(
    original: JSONObject, patch: Any, meta: PatchMeta | None = None
) -> JSONObject:
    """Apply a strategic merge `patch` to `original`, using `meta` for field strategies.

    Without `meta`, the strategies of `original`'s kind are read from the
    OpenAPI schemas (`schema_meta.patch_meta_for`).

    `original` is not modified and the result shares no dict or list with it or
    with `patch`. Raises `InvalidPatchError` (or its `UnknownDirectiveError`)
    for a malformed patch and `PatchApplyError` when it does not fit the object.
    """
    if not isinstance(patch, dict):
        raise InvalidPatchError(
            f"a strategic merge patch must be a JSON object, not {type_name(patch)}"
        )
    if not isinstance(original, dict):
        raise PatchApplyError(
            f"the object to patch must be a JSON object, not {type_name(original)}"
        )
    if meta is None:
        meta = patch_meta_for(original)
    result = _merge_map(deep_copy(original), patch, (), meta)
    if result is None:
        raise InvalidPatchError('"$patch: delete" cannot delete the whole object')
    return result


def _merge_map(
    orig: dict[str, Any], patch: dict[str, Any], path: tuple[str, ...], meta: PatchMeta
) -> dict[str, Any] | None:
    """Merge `patch` into `orig` (which this call owns); None means "delete this map"."""
    directive = patch.get(PATCH, _MISSING)
    if directive == "delete":
        return None
    if directive == "replace":
        orig = {}
    elif directive is not _MISSING and directive != "merge":
        raise UnknownDirectiveError(
            f'unknown "$patch" directive {render(directive)} in {field_path(path)} '
            '(expected "replace", "delete" or "merge")',
            path=field_path(path),
        )
    if RETAIN_KEYS in patch:
        _retain_keys(orig, patch, path)
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if not key.startswith("$") or key in (PATCH, RETAIN_KEYS):
            continue
        prefix, _, field = key.partition("/")
        if (prefix + "/") not in (SET_ELEMENT_ORDER, DELETE_FROM_PRIMITIVE_LIST) or not field:
            raise UnknownDirectiveError(
                f"unknown directive {render(key)} in {field_path(path)}", path=field_path(path)
            )
        if not isinstance(value, list):
            raise InvalidPatchError(
                f"{render(key)} in {field_path(path)} must be a list, not {type_name(value)}",
                path=field_path(path),
            )
        if prefix + "/" == SET_ELEMENT_ORDER:
            orders[field] = value
        elif isinstance(current := orig.get(field), list):
            orig[field] = [v for v in current if not any(json_equal(v, d) for d in value)]
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            orig.pop(key, None)
            continue
        sub = (*path, key)
        fm = meta.lookup(sub)
        current = orig.get(key)
        if isinstance(value, dict):
            base = (
                current if isinstance(current, dict) and not (fm is not None and fm.replace) else {}
            )
            merged = _merge_map(base, value, sub, meta)
            if merged is None:
                orig.pop(key, None)
            else:
                orig[key] = merged
        elif isinstance(value, list) and fm is not None and fm.merge:
            base_list = current if isinstance(current, list) else []
            orig[key] = _merge_list(base_list, value, sub, fm, orders.pop(key, None), meta)
        else:
            orig[key] = deep_copy(value)
    for field, order in orders.items():
        sub = (*path, field)
        fm = meta.lookup(sub)
        if isinstance(current := orig.get(field), list) and fm is not None and fm.merge:
            orig[field] = _merge_list(current, [], sub, fm, order, meta)
    return orig


def _retain_keys(orig: dict[str, Any], patch: dict[str, Any], path: tuple[str, ...]) -> None:
    keep = patch[RETAIN_KEYS]
    if not isinstance(keep, list) or not all(isinstance(k, str) for k in keep):
        raise InvalidPatchError(
            f'"$retainKeys" in {field_path(path)} must be a list of strings', path=field_path(path)
        )
    extra = sorted(
        k for k, v in patch.items() if not k.startswith("$") and v is not None and k not in keep
    )
    if extra:
        raise InvalidPatchError(
            f'"$retainKeys" in {field_path(path)} must list every field the patch sets; '
            f"missing: {', '.join(extra)}",
            path=field_path(path),
        )
    for key in [k for k in orig if k not in keep]:
        del orig[key]


def _merge_list(
    base: list[Any],
    patch: list[Any],
    path: tuple[str, ...],
    fm: FieldPatchMeta,
    order: list[Any] | None,
    meta: PatchMeta,
) -> list[Any]:
    if fm.merge_key is not None and fm.list_kind != "primitive":
        return _merge_map_list(base, patch, path, fm.merge_key, order, meta)
    return _merge_primitive_list(base, patch, path, order)


def _merge_map_list(
    base: list[Any],
    patch: list[Any],
    path: tuple[str, ...],
    key: str,
    order: list[Any] | None,
    meta: PatchMeta,
) -> list[Any]:
    where = field_path(path)
    replace = False
    deleted: set[Any] = set()
    items: list[dict[str, Any]] = []
    for i, element in enumerate(patch):
        if not isinstance(element, dict):
            raise InvalidPatchError(
                f"{where}[{i}] must be an object, not {type_name(element)}", path=where
            )
        directive = element.get(PATCH, _MISSING)
        if directive is _MISSING or directive == "merge":
            items.append({k: v for k, v in element.items() if k != PATCH})
        elif directive == "replace":
            replace = True
        elif directive == "delete":
            deleted.add(_element_key(element, key, f"{where}[{i}]"))
        else:
            raise UnknownDirectiveError(
                f'unknown "$patch" directive {render(directive)} in {where}[{i}] '
                '(expected "replace", "delete" or "merge")',
                path=where,
            )
    if replace:
        return [_new_element(element, path, meta) for element in items]

    merged = [e for e in base if not (deleted and _base_key(e, key) in deleted)]
    server_count = len(merged)
    positions: dict[Any, int] = {}
    for pos, element in enumerate(merged):
        positions.setdefault(_base_key(element, key), pos)
    patch_keys: list[Any] = []
    for i, element in enumerate(items):
        k = _element_key(element, key, f"{where}[{i}]")
        patch_keys.append(k)
        found = positions.get(k)
        if found is None:
            positions[k] = len(merged)
            merged.append(_new_element(element, path, meta))
        else:
            merged[found] = _merge_map(merged[found], element, path, meta)
    if order is None:
        ranks = patch_keys
    else:
        ranks = [_element_key(o, key, f"$setElementOrder of {where}") for o in order]
        _check_order(patch_keys, ranks, where)
    return _enforce_order(merged, ranks, lambda e: _base_key(e, key), server_count)


def _element_key(element: Any, key: str, where: str) -> Any:
    if not isinstance(element, dict) or key not in element:
        raise InvalidPatchError(f'{where} has no merge key "{key}"', path=where)
    k = scalar_key(element[key])
    if k is None:
        raise InvalidPatchError(
            f'{where}: merge key "{key}" must be a string, number or boolean', path=where
        )
    return k


def _base_key(element: Any, key: str) -> Any:
    """The merge key of a server-side element, or None when it has none we can match."""
    return scalar_key(element.get(key, [])) if isinstance(element, dict) else None


def _new_element(element: dict[str, Any], path: tuple[str, ...], meta: PatchMeta) -> dict[str, Any]:
    merged = _merge_map({}, element, path, meta)
    assert merged is not None  # "$patch: delete" elements never get here
    return merged


def _merge_primitive_list(
    base: list[Any], patch: list[Any], path: tuple[str, ...], order: list[Any] | None
) -> list[Any]:
    where = field_path(path)
    replace = False
    values = []
    for i, element in enumerate(patch):
        if isinstance(element, dict) and element.get(PATCH) == "replace" and len(element) == 1:
            replace = True
        elif scalar_key(element) is None:
            raise InvalidPatchError(
                f"{where}[{i}] is {type_name(element)}, but {where} is a list of primitives",
                path=where,
            )
        else:
            values.append(element)
    if replace:
        return values
    merged = []
    seen = set()
    server_count = 0
    for pos, value in enumerate((*base, *values)):
        k = scalar_key(value)
        if k is None:
            raise PatchApplyError(
                f"{where} holds {type_name(value)}, so it cannot merge as a list of primitives",
                path=where,
            )
        if k not in seen:
            seen.add(k)
            merged.append(value)
            server_count += pos < len(base)
    patch_keys = [scalar_key(v) for v in values]
    ranks = patch_keys
    if order is not None:
        ranks = [scalar_key(o) for o in order]
        if None in ranks:
            raise InvalidPatchError(f"$setElementOrder of {where} must list primitives", path=where)
        _check_order(patch_keys, ranks, where)
    return _enforce_order(merged, ranks, scalar_key, server_count)


def _check_order(patch_keys: list[Any], order_keys: list[Any], where: str) -> None:
    """The patch list must be a subset of $setElementOrder, in the same relative order."""
    rank: dict[Any, int] = {}
    for i, k in enumerate(order_keys):
        rank.setdefault(k, i)
    last = -1
    for k in patch_keys:
        if k not in rank:
            raise InvalidPatchError(
                f"$setElementOrder of {where} does not list the element {render(k[1])} "
                "that the patch sets",
                path=where,
            )
        if rank[k] < last:
            raise InvalidPatchError(
                f"the elements of {where} in the patch are not in $setElementOrder's order",
                path=where,
            )
        last = rank[k]


def _enforce_order(
    merged: list[Any], order_keys: list[Any], key_of: Callable[[Any], Any], server_count: int
) -> list[Any]:
    """Order `merged`: elements named in `order_keys` in that order, the rest interleaved.

    The first `server_count` elements of `merged` were on the server, in the
    server's order. An element named in the order goes before a server-only
    element only if it was on the server and was before it there.
    """
    rank: dict[Any, int] = {}
    for i, k in enumerate(order_keys):
        rank.setdefault(k, i)
    named: list[tuple[int, int, Any]] = []
    server_only: list[tuple[int, Any]] = []
    for pos, element in enumerate(merged):
        k = key_of(element)
        if k is not None and k in rank:
            named.append((rank[k], pos, element))
        else:
            server_only.append((pos, element))
    named.sort(key=lambda t: (t[0], t[1]))
    out: list[Any] = []
    i = j = 0
    while i < len(named) and j < len(server_only):
        pos = named[i][1]
        if pos < server_count and pos < server_only[j][0]:
            out.append(named[i][2])
            i += 1
        else:
            out.append(server_only[j][1])
            j += 1
    out.extend(t[2] for t in named[i:])
    out.extend(t[1] for t in server_only[j:])
    return out
