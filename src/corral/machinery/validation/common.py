"""Small shared pieces for the semantic validators: typed access to parsed JSON, paths, ints.

Objects arrive as parsed JSON (``dict``/``list``/scalars) that the OpenAPI
layer has already type-checked, but the validators never trust that: every
accessor here returns an empty value of the expected type when the input has
the wrong shape, so a malformed object yields field errors, never an
exception. It also decides how paths are spelled (``a.b[0]``, ``data[key]``)
and what Kubernetes' generic checks say (``field is immutable``, ``must be
greater than or equal to 0``).
"""

from __future__ import annotations

from typing import Any, TypeGuard

from corral.machinery.status import FieldError

Obj = dict[str, Any]

IMMUTABLE = "field is immutable"
NONNEGATIVE = "must be greater than or equal to 0"
POSITIVE = "must be greater than zero"


def mapping(value: object) -> Obj:
    """``value`` if it is a JSON object, else an empty dict (not attached to anything)."""
    return value if isinstance(value, dict) else {}


def items(value: object) -> list[Any]:
    """``value`` if it is a JSON array, else an empty list."""
    return value if isinstance(value, list) else []


def text(value: object) -> str:
    """``value`` if it is a string, else ``""``."""
    return value if isinstance(value, str) else ""


def child(obj: Obj, key: str) -> Obj:
    """``obj[key]`` for defaulting: created as ``{}`` when missing or null; a value of the
    wrong type is left alone (schema validation reports it) and a detached ``{}`` returned."""
    value = obj.get(key)
    if isinstance(value, dict):
        return value
    if value is not None:
        return {}
    created: Obj = {}
    obj[key] = created
    return created


def is_int(value: object) -> TypeGuard[int]:
    """A JSON integer (``bool`` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def join(path: str, name: str) -> str:
    """``path.name``, or ``name`` at the root."""
    return f"{path}.{name}" if path else name


def key(path: str, name: str) -> str:
    """A map entry's path as Kubernetes spells it: ``data[name]``."""
    return f"{path}[{name}]"


def nonnegative(value: object, path: str) -> list[FieldError]:
    """``ValidateNonnegativeField`` for an optional integer."""
    if is_int(value) and value < 0:
        return [FieldError.invalid(path, value, NONNEGATIVE)]
    return []


def positive(value: object, path: str) -> list[FieldError]:
    """``ValidatePositiveField`` for an optional integer."""
    if is_int(value) and value <= 0:
        return [FieldError.invalid(path, value, POSITIVE)]
    return []


def immutable(new: object, old: object, path: str) -> list[FieldError]:
    """``ValidateImmutableField``: the new value is reported when it differs."""
    if new != old:
        return [FieldError.invalid(path, new, IMMUTABLE)]
    return []
