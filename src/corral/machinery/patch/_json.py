"""Small helpers on parsed JSON values shared by the three patch formats.

Objects are plain dicts and lists straight from the JSON parser. Python's own
`==` and `copy.deepcopy` are not quite right for them: `True == 1` holds in
Python but `true` and `1` differ in JSON, and `deepcopy` is slow and copies
things JSON cannot contain. These helpers decide JSON equality, copying and how
a value is named in an error message, once for the whole subpackage.
"""

from __future__ import annotations

import json
from typing import Any, TypeAlias

JSONValue: TypeAlias = Any
"""A parsed JSON value: dict[str, JSONValue], list[JSONValue], str, int, float, bool or None."""

JSONObject: TypeAlias = dict[str, Any]

_RENDER_LIMIT = 80


def deep_copy(value: JSONValue) -> JSONValue:
    """Return a copy of `value` sharing no dict or list with it."""
    if isinstance(value, dict):
        return {k: deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [deep_copy(v) for v in value]
    return value


def json_equal(a: JSONValue, b: JSONValue) -> bool:
    """JSON equality: numbers by value, booleans are not numbers, arrays in order."""
    if isinstance(a, dict):
        if not isinstance(b, dict) or len(a) != len(b):
            return False
        return all(k in b and json_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return False
        return all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if a is None or b is None:
        return a is b
    return type(a) is type(b) and bool(a == b)


def scalar_key(value: JSONValue) -> tuple[bool, Any] | None:
    """A hashable key under which JSON-equal scalars collide, or None for objects and arrays."""
    if isinstance(value, dict | list):
        return None
    return (isinstance(value, bool), value)


def type_name(value: JSONValue) -> str:
    """The JSON type of `value` with its article, for messages: "an object", "a string", ..."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"


def render(value: JSONValue) -> str:
    """Compact JSON for a message, cut short when long."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > _RENDER_LIMIT:
        text = text[: _RENDER_LIMIT - 1] + "…"
    return text
