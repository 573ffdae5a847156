"""JSON Patch (RFC 6902, `application/json-patch+json`) and JSON Pointer (RFC 6901).

kubectl and client libraries send these for `kubectl patch --type=json`. A
patch is applied atomically: the whole patch is checked for form first, then
the operations run on a private copy of the object, so the caller's object is
never changed and a failing operation leaves nothing half-applied.

Errors name the operation's index and path the way kube-apiserver does:
a malformed patch (not an array, unknown "op", missing member, bad pointer) is
an `InvalidPatchError` (400); an operation that does not fit the object
(missing path, index out of range, failed "test") is a `PatchApplyError` (422).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._json import JSONValue, deep_copy, json_equal, render, type_name
from .errors import InvalidPatchError, PatchApplyError, PatchTestFailedError

__all__ = ["apply_json_patch", "format_pointer", "parse_pointer"]

_OPS = ("add", "remove", "replace", "move", "copy", "test")
_NEEDS_VALUE = frozenset({"add", "replace", "test"})
_NEEDS_FROM = frozenset({"move", "copy"})
_INDEX = re.compile(r"0|[1-9][0-9]*")


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """Split a JSON pointer into its unescaped reference tokens ("" is the whole document).

    Raises `InvalidPatchError` if the pointer does not start with "/" or has a
    "~" not followed by "0" or "1".
    """
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise InvalidPatchError(
            f'invalid JSON pointer "{pointer}": it must be empty or start with "/"', path=pointer
        )
    tokens = pointer[1:].split("/")
    for token in tokens:
        if re.search(r"~(?![01])", token):
            raise InvalidPatchError(
                f'invalid JSON pointer "{pointer}": "~" must be followed by "0" or "1"',
                path=pointer,
            )
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in tokens)


def format_pointer(tokens: Sequence[str]) -> str:
    """Join reference tokens into a JSON pointer, escaping "~" and "/"."""
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


@dataclass(frozen=True, slots=True)
class _Op:
    index: int
    op: str
    path: str
    tokens: tuple[str, ...]
    value: JSONValue = None
    from_path: str = ""
    from_tokens: tuple[str, ...] = ()


class _Failure(Exception):
    """Raised inside one operation; turned into a PatchApplyError naming the operation."""

    def __init__(self, detail: str, *, test: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.test = test


def apply_json_patch(document: JSONValue, patch: Any) -> JSONValue:
    """Apply the RFC 6902 `patch` (a parsed JSON array) to `document`; return the new document.

    `document` is not modified and the result shares no dict or list with
    `document` or `patch`.
    """
    ops = _parse(patch)
    doc = deep_copy(document)
    for op in ops:
        try:
            doc = _apply(doc, op)
        except _Failure as failure:
            cls = PatchTestFailedError if failure.test else PatchApplyError
            raise cls(
                f'the "{op.op}" operation at index {op.index} failed: {failure.detail}',
                path=op.path,
                index=op.index,
            ) from None
    return doc


def _parse(patch: Any) -> list[_Op]:
    if not isinstance(patch, list):
        raise InvalidPatchError(
            f"a JSON patch must be an array of operations, not {type_name(patch)}"
        )
    return [_parse_op(i, raw) for i, raw in enumerate(patch)]


def _parse_op(index: int, raw: Any) -> _Op:
    if not isinstance(raw, dict):
        raise InvalidPatchError(
            f"the operation at index {index} must be an object, not {type_name(raw)}", index=index
        )
    op = raw.get("op")
    if not isinstance(op, str):
        raise InvalidPatchError(
            f'the operation at index {index} has no "op" string member', index=index
        )
    if op not in _OPS:
        raise InvalidPatchError(
            f'the operation at index {index} has an unknown "op" {render(op)} '
            f"(expected one of {', '.join(_OPS)})",
            index=index,
        )
    path = _member_pointer(index, op, raw, "path")
    if op in _NEEDS_VALUE and "value" not in raw:
        raise InvalidPatchError(
            f'the "{op}" operation at index {index} has no "value" member', path=path, index=index
        )
    from_path = _member_pointer(index, op, raw, "from") if op in _NEEDS_FROM else ""
    return _Op(
        index=index,
        op=op,
        path=path,
        tokens=_tokens(index, op, path),
        value=raw.get("value"),
        from_path=from_path,
        from_tokens=_tokens(index, op, from_path),
    )


def _member_pointer(index: int, op: str, raw: dict[str, Any], member: str) -> str:
    value = raw.get(member)
    if not isinstance(value, str):
        raise InvalidPatchError(
            f'the "{op}" operation at index {index} has no "{member}" string member', index=index
        )
    return value


def _tokens(index: int, op: str, pointer: str) -> tuple[str, ...]:
    try:
        return parse_pointer(pointer)
    except InvalidPatchError as err:
        raise InvalidPatchError(
            f'the "{op}" operation at index {index} has an {err.message}',
            path=pointer,
            index=index,
        ) from None


def _apply(doc: JSONValue, op: _Op) -> JSONValue:
    if op.op == "add":
        return _add(doc, op.tokens, deep_copy(op.value))
    if op.op == "remove":
        _remove(doc, op.tokens)
        return doc
    if op.op == "replace":
        if not op.tokens:
            return deep_copy(op.value)
        parent, key = _locate(doc, op.tokens, existing=True)
        parent[key] = deep_copy(op.value)
        return doc
    if op.op == "move":
        if op.from_tokens == op.tokens:
            _get(doc, op.from_tokens)
            return doc
        if op.tokens[: len(op.from_tokens)] == op.from_tokens:
            raise _Failure(f"cannot move {op.from_path or '/'} into its own child {op.path}")
        return _add(doc, op.tokens, _remove(doc, op.from_tokens))
    if op.op == "copy":
        return _add(doc, op.tokens, deep_copy(_get(doc, op.from_tokens)))
    # "test"
    where = op.path or "the document root"
    try:
        actual = _get(doc, op.tokens)
    except _Failure as failure:
        raise _Failure(failure.detail, test=True) from None
    if not json_equal(actual, op.value):
        raise _Failure(f"value at {where} is not equal to {render(op.value)}", test=True)
    return doc


def _add(doc: JSONValue, tokens: tuple[str, ...], value: JSONValue) -> JSONValue:
    if not tokens:
        return value
    parent, key = _locate(doc, tokens, existing=False)
    if isinstance(parent, list):
        assert isinstance(key, int)
        parent.insert(key, value)
    else:
        parent[key] = value
    return doc


def _remove(doc: JSONValue, tokens: tuple[str, ...]) -> JSONValue:
    if not tokens:
        raise _Failure("cannot remove the document root")
    parent, key = _locate(doc, tokens, existing=True)
    return parent.pop(key)


def _get(doc: JSONValue, tokens: tuple[str, ...]) -> JSONValue:
    if not tokens:
        return doc
    parent, key = _locate(doc, tokens, existing=True)
    return parent[key]


def _locate(doc: JSONValue, tokens: tuple[str, ...], *, existing: bool) -> tuple[Any, Any]:
    """Find the container holding the last token and the key or index into it.

    With `existing`, the target itself must exist; otherwise (for "add") only
    its parent must, and an array index may be one past the end or "-".
    """
    node = doc
    for depth, token in enumerate(tokens[:-1]):
        node = _child(node, token, tokens[: depth + 1])
    last = tokens[-1]
    if isinstance(node, dict):
        if existing and last not in node:
            raise _Failure(f"{format_pointer(tokens)} does not exist")
        return node, last
    if isinstance(node, list):
        return node, _array_index(node, last, tokens, append=not existing)
    where = format_pointer(tokens[:-1]) or "the document root"
    raise _Failure(f"{where} is {type_name(node)}, not an object or array")


def _child(node: JSONValue, token: str, prefix: tuple[str, ...]) -> JSONValue:
    if isinstance(node, dict):
        if token not in node:
            raise _Failure(f"{format_pointer(prefix)} does not exist")
        return node[token]
    if isinstance(node, list):
        return node[_array_index(node, token, prefix, append=False)]
    where = format_pointer(prefix[:-1]) or "the document root"
    raise _Failure(f"{where} is {type_name(node)}, not an object or array")


def _array_index(array: list[Any], token: str, tokens: tuple[str, ...], *, append: bool) -> int:
    size = len(array)
    if token == "-":  # noqa: S105 - the RFC 6902 "append" token
        if append:
            return size
        raise _Failure(f'{format_pointer(tokens)} does not exist ("-" is past the last element)')
    if not _INDEX.fullmatch(token):
        raise _Failure(f"{format_pointer(tokens)}: {render(token)} is not a valid array index")
    index = int(token)
    if index > size or (index == size and not append):
        raise _Failure(
            f"{format_pointer(tokens)}: index {index} is out of range "
            f"(the array has {size} element{'' if size == 1 else 's'})"
        )
    return index
