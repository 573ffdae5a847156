"""Sets of field paths, kept in the FieldsV1 form Kubernetes stores them in.

A managedFields entry's ``fieldsV1`` is a trie: ``{"f:spec": {"f:replicas": {}}}``.
Each key is one path element — ``f:<field>``, ``k:<json of the key fields>``
(an item of a list of type map), ``v:<json value>`` (an item of a set),
``i:<index>`` — and a path is a member of the set when its node is empty
(``{}``) or holds the marker ``".": {}`` (a node that is a member and has
members below it, such as a map that was added with its entries).

**Decision: the set operations work on that form directly**, so decoding an
entry read from storage and encoding it back cost nothing. A `FieldSet` is
the root's children (the root itself is never a member). The dicts are
treated as immutable values: operations share unchanged subtrees and never
modify their arguments. Member-wise operations follow structured-merge-diff:
`difference` removes only the members of the other set (children stay),
`recursive_difference` removes whole subtrees under the other set's members.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeAlias

import orjson

Node: TypeAlias = dict[str, Any]
FieldSet: TypeAlias = dict[str, Any]

SELF = "."


def field_key(name: str) -> str:
    return "f:" + name


def value_key(value: Any) -> str:
    return "v:" + orjson.dumps(value).decode()


def item_key(fields: dict[str, Any]) -> str:
    """The ``k:`` element of a list-map item from its key fields (sorted by name)."""
    return "k:" + orjson.dumps(fields, option=orjson.OPT_SORT_KEYS).decode()


def is_member(node: Node) -> bool:
    return not node or SELF in node


def _join(member: bool, children: Node) -> Node | None:
    """The node for a path from its membership and children (None: not in the set)."""
    if not children:
        return {} if member else None
    if member:
        if SELF in children:
            return children
        out: Node = {SELF: {}}
        out.update(children)
        return out
    if SELF in children:
        return {k: v for k, v in children.items() if k != SELF}
    return children


def _children(node: Node) -> Node:
    if SELF in node:
        return {k: v for k, v in node.items() if k != SELF}
    return node


def with_member(node: Node | None) -> Node:
    """``node`` with its own path made a member."""
    if node is None or not node:
        return {}
    return _join(True, node) or {}


def union(a: FieldSet, b: FieldSet) -> FieldSet:
    if not a:
        return b
    if not b:
        return a
    out = dict(a)
    for key, bn in b.items():
        an = out.get(key)
        out[key] = bn if an is None else _union_node(an, bn)
    return out


def _union_node(a: Node, b: Node) -> Node:
    if a is b:
        return a
    member = is_member(a) or is_member(b)
    children = union(_children(a), _children(b))
    return _join(member, children) or {}


def difference(a: FieldSet, b: FieldSet) -> FieldSet:
    """Members of ``a`` not members of ``b`` (``a`` itself when nothing is removed)."""
    if not a or not b:
        return a
    out: FieldSet | None = None
    for key, bn in b.items():
        an = a.get(key)
        if an is None:
            continue
        dn = _difference_node(an, bn)
        if dn is an:
            continue
        if out is None:
            out = dict(a)
        if dn is None:
            del out[key]
        else:
            out[key] = dn
    return a if out is None else out


def _difference_node(a: Node, b: Node) -> Node | None:
    a_member = is_member(a)
    member = a_member and not is_member(b)
    a_children = _children(a)
    children = difference(a_children, _children(b))
    if member == a_member and children is a_children:
        return a
    return _join(member, children)


def intersection(a: FieldSet, b: FieldSet) -> FieldSet:
    out: FieldSet = {}
    if not a or not b:
        return out
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    for key, sn in small.items():
        ln = large.get(key)
        if ln is None:
            continue
        member = is_member(sn) and is_member(ln)
        node = _join(member, intersection(_children(sn), _children(ln)))
        if node is not None:
            out[key] = node
    return out


def recursive_difference(a: FieldSet, b: FieldSet) -> FieldSet:
    """``a`` without every path at or under a member of ``b``."""
    if not a or not b:
        return a
    out: FieldSet | None = None
    for key, bn in b.items():
        an = a.get(key)
        if an is None:
            continue
        if is_member(bn):
            dn: Node | None = None
        else:
            a_children = _children(an)
            rest = recursive_difference(a_children, _children(bn))
            dn = an if rest is a_children else _join(is_member(an), rest)
        if dn is an:
            continue
        if out is None:
            out = dict(a)
        if dn is None:
            del out[key]
        else:
            out[key] = dn
    return a if out is None else out


def all_members(a: FieldSet) -> FieldSet:
    """``a`` with every path that leads to a member made a member too."""
    return {key: _all_members_node(node) for key, node in a.items() if key != SELF}


def _all_members_node(node: Node) -> Node:
    if not node:
        return node
    children = all_members(_children(node))
    return _join(True, children) or {}


def paths(a: FieldSet) -> Iterator[tuple[str, ...]]:
    """The members of ``a``, each as its tuple of path elements, in sorted order."""
    for key in sorted(a, key=_order):
        if key == SELF:
            continue
        node = a[key]
        if is_member(node):
            yield (key,)
        for rest in paths(_children(node)):
            yield (key, *rest)


def _order(key: str) -> tuple[int, str]:
    return ("fkvi".find(key[:1]), key)


def sort_set(a: FieldSet) -> FieldSet:
    """``a`` with keys in structured-merge-diff's order ("." first, then fields, keys, values)."""
    out: FieldSet = {}
    if SELF in a:
        out[SELF] = {}
    for key in sorted((k for k in a if k != SELF), key=_order):
        out[key] = sort_set(a[key])
    return out


def render_path(path: tuple[str, ...]) -> str:
    """A path as Kubernetes prints it: ``.spec.containers[name="nginx"].image``."""
    out = []
    for element in path:
        kind, text = element[:2], element[2:]
        if kind == "f:":
            out.append("." + text)
        elif kind == "k:":
            try:
                fields = orjson.loads(text)
            except orjson.JSONDecodeError:
                fields = {}
            pairs = (f"{k}={orjson.dumps(v).decode()}" for k, v in sorted(fields.items()))
            out.append("[" + ",".join(pairs) + "]")
        elif kind == "v:":
            out.append("[=" + text + "]")
        else:
            out.append("[" + text + "]")
    return "".join(out)


def valid_set(value: Any) -> bool:
    """True if ``value`` has the shape of a FieldsV1 trie."""
    if not isinstance(value, dict):
        return False
    for key, node in value.items():
        if not isinstance(key, str):
            return False
        if key == SELF:
            if node != {}:
                return False
            continue
        if key[:2] not in ("f:", "k:", "v:", "i:") or not valid_set(node):
            return False
    return True
