"""Value validations of OpenAPI schemas (bounds, lengths, patterns, formats), in Kubernetes words.

CRD schemas carry them (``minimum: 0``, ``maxLength: 63``, ``pattern``,
``format: date-time``…); the built-in definitions hardly do, their rules live
in code. kube-apiserver checks them with kube-openapi and turns each result into
a field error: too long → ``Too long``, too many items or properties → ``Too
many``, everything else → ``Invalid value`` with kube-openapi's sentence
(``spec.replicas in body should be less than or equal to 10``). This module
decides those checks and those words for one value and one schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from corral.machinery.status import FieldError

_PATTERN_CACHE: dict[str, re.Pattern[str] | None] = {}


def _pattern(text: str) -> re.Pattern[str] | None:
    if text not in _PATTERN_CACHE:
        try:
            _PATTERN_CACHE[text] = re.compile(text)
        except re.error:
            _PATTERN_CACHE[text] = None
    return _PATTERN_CACHE[text]


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _show(number: float) -> str:
    return str(int(number)) if number.is_integer() else repr(number)


def _date_time(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return "T" in value.upper() or " " in value


def _date(value: str) -> bool:
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return False
    return True


_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)
_BYTE = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def _base64(value: str) -> bool:
    value = value.replace("\n", "").replace("\r", "")
    return len(value) % 4 == 0 and bool(_BYTE.match(value))


def _uuid(value: str) -> bool:
    return bool(_UUID.match(value))


_FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": _date_time,
    "datetime": _date_time,
    "date": _date,
    "uuid": _uuid,
    "byte": _base64,
}


CONSTRAINT_KEYS = frozenset(
    {
        "maximum",
        "minimum",
        "multipleOf",
        "maxLength",
        "minLength",
        "pattern",
        "format",
        "maxItems",
        "minItems",
        "uniqueItems",
        "maxProperties",
        "minProperties",
    }
)


def value_errors(value: object, schema: Mapping[str, Any], path: str) -> list[FieldError]:
    """The value validations ``value`` fails (its type is already known to be right)."""
    if not schema.keys() & CONSTRAINT_KEYS:
        return []
    where = path or "<root>"
    errors: list[FieldError] = []
    number = _number(value)
    if number is not None:
        errors.extend(_numeric(value, number, schema, path, where))
    elif isinstance(value, str):
        errors.extend(_string(value, schema, path, where))
    elif isinstance(value, list):
        errors.extend(_array(value, schema, path, where))
    elif isinstance(value, dict):
        count = len(value)
        maximum, minimum = schema.get("maxProperties"), schema.get("minProperties")
        if isinstance(maximum, int) and count > maximum:
            errors.append(FieldError.too_many(path, count, maximum))
        if isinstance(minimum, int) and count < minimum:
            detail = f"{where} in body should have at least {minimum} properties"
            errors.append(FieldError.invalid(path, value, detail))
    return errors


def _numeric(
    value: object, number: float, schema: Mapping[str, Any], path: str, where: str
) -> list[FieldError]:
    errors = []
    maximum = _number(schema.get("maximum"))
    if maximum is not None:
        exclusive = schema.get("exclusiveMaximum") is True
        if number > maximum or (exclusive and number == maximum):
            relation = "less than" if exclusive else "less than or equal to"
            detail = f"{where} in body should be {relation} {_show(maximum)}"
            errors.append(FieldError.invalid(path, value, detail))
    minimum = _number(schema.get("minimum"))
    if minimum is not None:
        exclusive = schema.get("exclusiveMinimum") is True
        if number < minimum or (exclusive and number == minimum):
            relation = "greater than" if exclusive else "greater than or equal to"
            detail = f"{where} in body should be {relation} {_show(minimum)}"
            errors.append(FieldError.invalid(path, value, detail))
    multiple = _number(schema.get("multipleOf"))
    if multiple and (number / multiple) % 1:
        detail = f"{where} in body should be a multiple of {_show(multiple)}"
        errors.append(FieldError.invalid(path, value, detail))
    return errors


def _string(value: str, schema: Mapping[str, Any], path: str, where: str) -> list[FieldError]:
    errors = []
    maximum, minimum = schema.get("maxLength"), schema.get("minLength")
    if isinstance(maximum, int) and len(value) > maximum:
        errors.append(FieldError.too_long(path, maximum))
    if isinstance(minimum, int) and len(value) < minimum:
        detail = f"{where} in body should be at least {minimum} chars long"
        errors.append(FieldError.invalid(path, value, detail))
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        compiled = _pattern(pattern)
        if compiled is not None and not compiled.search(value):
            detail = f"{where} in body should match '{pattern}'"
            errors.append(FieldError.invalid(path, value, detail))
    check = _FORMATS.get(str(schema.get("format", "")))
    if check is not None and not check(value):
        detail = f'{where} in body must be of type {schema["format"]}: "{value}"'
        errors.append(FieldError.invalid(path, value, detail))
    return errors


def _array(value: list[Any], schema: Mapping[str, Any], path: str, where: str) -> list[FieldError]:
    errors = []
    maximum, minimum = schema.get("maxItems"), schema.get("minItems")
    if isinstance(maximum, int) and len(value) > maximum:
        errors.append(FieldError.too_many(path, len(value), maximum))
    if isinstance(minimum, int) and len(value) < minimum:
        detail = f"{where} in body should have at least {minimum} items"
        errors.append(FieldError.invalid(path, value, detail))
    if schema.get("uniqueItems") is True:
        seen: list[object] = []
        for item in value:
            if item in seen:
                detail = f"{where} in body shouldn't contain duplicates"
                errors.append(FieldError.invalid(path, value, detail))
                break
            seen.append(item)
    return errors
