"""Walking objects along their `FieldType`: field sets, comparisons, merges, removals.

- `config_fields`: the fields an apply configuration sets (structured-merge-
  diff's ``ToFieldSet``): every leaf, every list item, every map entry that is
  not a declared struct field, and empty or null values; a field the schema
  has no place for is an error (`UndeclaredField`).
- `compare`: what a write added, modified and removed. **It only descends
  where the old and new values differ** (one C-level equality test per
  subtree), so an update costs what it changed, not what the object holds.
- `merge`: an apply configuration laid over the live object (objects merge
  per field, map lists per key, sets per value, leaves are replaced).
- `remove_items`: an object without the paths of a set (and what is under
  them); the key fields of a map-list item are never removed on their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from corral.machinery.managedfields.errors import BadListItem, UndeclaredField
from corral.machinery.managedfields.fieldset import (
    SELF,
    FieldSet,
    Node,
    field_key,
    is_member,
    item_key,
    render_path,
    union,
    value_key,
    with_member,
)
from corral.machinery.managedfields.types import LEAF, LEAF_TYPE, MAP_LIST, OBJECT, SET, FieldType

_MISSING: Any = object()


def list_item_key(t: FieldType, item: Any) -> str | None:
    """The ``k:`` element of ``item`` in the map list ``t`` (None: not an object)."""
    if not isinstance(item, dict):
        return None
    fields = {}
    for key in t.keys:
        value = item.get(key, _MISSING)
        if value is _MISSING or value is None:
            value = t.key_defaults.get(key, _MISSING)
        if value is not _MISSING:
            fields[key] = value
    return item_key(fields)


def _elem(t: FieldType) -> FieldType:
    return t.elem() or LEAF_TYPE


def _shape_ok(t: FieldType, value: Any) -> bool:
    if t.kind == OBJECT:
        return isinstance(value, dict)
    if t.kind in (SET, MAP_LIST):
        return isinstance(value, list)
    return True


# --- the fields of an apply configuration --------------------------------------------------


def config_fields(t: FieldType, obj: dict[str, Any]) -> FieldSet:
    """The fields ``obj`` sets; `UndeclaredField` names the first one without a schema."""
    return _object_fields(t, obj, "")


def _object_fields(t: FieldType, value: dict[str, Any], at: str) -> FieldSet:
    out: FieldSet = {}
    for name, child in value.items():
        ft = t.field(name)
        if ft is None:
            raise UndeclaredField(f"{at}.{name}")
        node = _fields(ft, child, f"{at}.{name}")
        declared = t.declares(name)
        if child is None or child == {} or not declared:
            node = with_member(node)
        if node is not None:
            out[field_key(name)] = node
    return out


def _fields(t: FieldType, value: Any, at: str) -> Node | None:
    if value is None or not _shape_ok(t, value) or t.kind == LEAF:
        return {}
    if t.kind == OBJECT:
        return _object_fields(t, value, at) or None
    out: Node = {}
    if t.kind == SET:
        for item in value:
            out[value_key(item)] = {}
        return out or None
    elem = _elem(t)
    for index, item in enumerate(value):
        key = _checked_key(t, item, at, index)
        if key in out:
            raise BadListItem(at, f"duplicate entries for key {render_path((key,))}")
        out[key] = with_member(_fields(elem, item, at + render_path((key,))))
    return out or None


def _checked_key(t: FieldType, item: Any, at: str, index: int) -> str:
    """The key of a configuration's list item; `BadListItem` when it has none."""
    if not isinstance(item, dict):
        raise BadListItem(at, f"element {index}: associative list items must be objects")
    for name in t.keys:
        if item.get(name) is None and name not in t.key_defaults:
            raise BadListItem(
                at,
                f"element {index}: associative list with keys has an element that omits key "
                f'field "{name}" (and doesn\'t have default value)',
            )
    return list_item_key(t, item) or ""


# --- comparing two versions of an object ---------------------------------------------------


class Changes:
    """What a write did: paths added, modified (leaf values changed) and removed."""

    __slots__ = ("added", "modified", "removed")

    def __init__(self) -> None:
        self.added: FieldSet = {}
        self.modified: FieldSet = {}
        self.removed: FieldSet = {}

    @property
    def changed(self) -> FieldSet:
        return union(self.added, self.modified)


def compare(t: FieldType, old: dict[str, Any], new: dict[str, Any]) -> Changes:
    """The changes from ``old`` to ``new`` (both whole objects of type ``t``)."""
    changes = Changes()
    a, m, r = _compare_object(t, old, new, fresh=False)
    changes.added, changes.modified, changes.removed = a or {}, m or {}, r or {}
    return changes


_Triple = tuple[Node | None, Node | None, Node | None]


def _put(out: list[Node], key: str, triple: _Triple) -> None:
    for i in range(3):
        node = triple[i]
        if node is not None:
            out[i][key] = node


def _compare_object(t: FieldType, old: Any, new: Any, *, fresh: bool) -> _Triple:
    olds = old if isinstance(old, dict) else {}
    news = new if isinstance(new, dict) else {}
    out: list[Node] = [{}, {}, {}]
    for name, value in news.items():
        before = olds.get(name, _MISSING)
        if before is not _MISSING and before == value:
            continue
        ft = t.field(name) or LEAF_TYPE
        triple = _compare(ft, before, value, fresh=fresh)
        if before is _MISSING and ft.kind != LEAF and _marks_itself(t, name, ft, fresh):
            triple = (with_member(triple[0]), triple[1], triple[2])
        _put(out, field_key(name), triple)
    for name, value in olds.items():
        if name not in news:
            ft = t.field(name) or LEAF_TYPE
            _put(out, field_key(name), (None, None, with_member(_everything(ft, value))))
    return out[0] or None, out[1] or None, out[2] or None


def _marks_itself(parent: FieldType, name: str, t: FieldType, fresh: bool) -> bool:
    """Whether an added non-leaf field is owned itself (".") as well as its contents.

    Kubernetes compares with the Go object the request decoded into: a built-in
    kind's value structs and non-omitempty lists and maps are always there (so
    never "added"), pointer structs and optional lists and maps only when set.
    Custom resources and anything inside a new list item have no such baseline.
    """
    if fresh or parent.custom:
        return True
    if t.is_struct:
        return name in parent.pointers
    return name not in parent.required


def _compare(t: FieldType, old: Any, new: Any, *, fresh: bool) -> _Triple:
    if old is _MISSING:
        return _everything(t, new, fresh=fresh, marks=False), None, None
    if new is _MISSING:
        return None, None, with_member(_everything(t, old))
    if t.kind == LEAF or not (_shape_ok(t, old) and _shape_ok(t, new)):
        return None, {}, None
    if t.kind == OBJECT:
        return _compare_object(t, old, new, fresh=fresh)
    if t.kind == SET:
        return _compare_set(old, new)
    return _compare_map_list(t, old, new)


def _compare_set(old: list[Any], new: list[Any]) -> _Triple:
    before = {value_key(v) for v in old}
    after = {value_key(v) for v in new}
    added: Node = {k: {} for k in after - before}
    removed: Node = {k: {} for k in before - after}
    return added or None, None, removed or None


def _compare_map_list(t: FieldType, old: list[Any], new: list[Any]) -> _Triple:
    elem = _elem(t)
    before = _index(t, old)
    after = _index(t, new)
    out: list[Node] = [{}, {}, {}]
    for key, item in after.items():
        prior = before.get(key, _MISSING)
        if prior is not _MISSING and prior == item:
            continue
        triple = _compare(elem, prior, item, fresh=True)
        if prior is _MISSING:
            triple = (with_member(triple[0]), None, None)
        _put(out, key, triple)
    for key, item in before.items():
        if key not in after:
            _put(out, key, (None, None, with_member(_everything(elem, item))))
    return out[0] or None, out[1] or None, out[2] or None


def _index(t: FieldType, items: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key = list_item_key(t, item)
        if key is not None:
            out[key] = item
    return out


def _everything(t: FieldType, value: Any, *, fresh: bool = True, marks: bool = True) -> Node:
    """Every path of ``value`` (as added or removed); non-leaf nodes are members."""
    if value is None or t.kind == LEAF or not _shape_ok(t, value):
        return {}
    out: Node = {}
    if t.kind == OBJECT:
        for name, child in value.items():
            ft = t.field(name) or LEAF_TYPE
            node: Node | None = _everything(ft, child, fresh=fresh)
            if node is not None and ft.kind != LEAF and not _marks_itself(t, name, ft, fresh):
                node = _strip_self(node)
            if node is not None:
                out[field_key(name)] = node
    elif t.kind == SET:
        for item in value:
            out[value_key(item)] = {}
    else:
        elem = _elem(t)
        for item in value:
            key = list_item_key(t, item)
            if key is not None:
                out[key] = with_member(_everything(elem, item))
    return with_member(out) if marks else out


def _strip_self(node: Node) -> Node | None:
    if SELF not in node:
        return node if node else None
    rest = {k: v for k, v in node.items() if k != SELF}
    return rest or None


# --- merging an apply configuration into the live object -----------------------------------


def merge(t: FieldType, live: Any, config: Any) -> Any:
    """``config`` laid over ``live`` (a new value; the arguments are not changed).

    A field the configuration sets to null is left out of the result (it is
    still the applier's).
    """
    if live is _MISSING or live is None or config is None:
        return drop_nulls(config)
    if t.kind == LEAF or not (_shape_ok(t, live) and _shape_ok(t, config)):
        return drop_nulls(config)
    if t.kind == OBJECT:
        out = dict(live)
        for name, value in config.items():
            if value is None:
                out.pop(name, None)
                continue
            ft = t.field(name) or LEAF_TYPE
            out[name] = merge(ft, live.get(name, _MISSING), value)
        return out
    if t.kind == SET:
        return _merge_items(value_key, LEAF_TYPE, live, config)
    return _merge_items(lambda item: list_item_key(t, item), _elem(t), live, config)


def _merge_items(
    key_of: Callable[[Any], str | None], elem: FieldType, live: list[Any], config: list[Any]
) -> list[Any]:
    """Items of both lists, merged by key, in structured-merge-diff's order.

    Items only the live list has keep their places; the configuration's items
    come in its order, a shared item where the configuration puts it among
    the shared ones.
    """
    lefts = [(key_of(item), item) for item in live]
    rights = [(key_of(item), item) for item in config]
    left_items = {k: item for k, item in lefts if k is not None}
    right_items = {k: item for k, item in rights if k is not None}
    shared = [k for k, _ in rights if k in left_items]
    next_shared = 0
    taken: set[str | None] = set()
    out: list[Any] = []
    li = ri = 0
    while li < len(lefts) or ri < len(rights):
        if li < len(lefts) and ri < len(rights):
            lk = lefts[li][0]
            if lk is not None and lk == rights[ri][0]:
                taken.add(lk)
                out.append(merge(elem, left_items[lk], right_items[lk]))
                li, ri = li + 1, ri + 1
                next_shared += 1
                continue
            if lk in right_items and next_shared < len(shared) and shared[next_shared] != lk:
                li += 1  # a shared item the configuration places later
                continue
        if li < len(lefts):
            lk, item = lefts[li]
            if lk is None or lk not in right_items:
                out.append(item)
                li += 1
                continue
            if lk in taken:
                li += 1
                continue
        if ri < len(rights):
            rk, item = rights[ri]
            taken.add(rk)
            before = left_items.get(rk, _MISSING) if rk is not None else _MISSING
            out.append(merge(elem, before, item))
            ri += 1
            if next_shared < len(shared) and shared[next_shared] == rk:
                next_shared += 1
    return out


def drop_nulls(value: Any) -> Any:
    """``value`` without the map entries an apply configuration set to null."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


# --- removing paths --------------------------------------------------------------------------


def remove_items(t: FieldType, value: Any, remove: FieldSet) -> Any:
    """``value`` without the members of ``remove`` and everything under them."""
    if not remove or t.kind == LEAF or not _shape_ok(t, value):
        return value
    if t.kind == OBJECT:
        out = {}
        for name, child in value.items():
            node = remove.get(field_key(name))
            if node is None:
                out[name] = child
            elif is_member(node):
                continue
            else:
                out[name] = remove_items(t.field(name) or LEAF_TYPE, child, node)
        return out
    if t.kind == SET:
        return [v for v in value if not is_member(remove.get(value_key(v), {"x": 0}))]
    elem = _elem(t)
    kept = []
    for item in value:
        key = list_item_key(t, item)
        node = remove.get(key) if key is not None else None
        if node is None:
            kept.append(item)
        elif is_member(node):
            continue
        else:
            inner = {k: v for k, v in node.items() if k[2:] not in t.keys}
            kept.append(remove_items(elem, item, inner))
    return kept
