"""Tables of custom resources, from their CRD's ``additionalPrinterColumns``.

apiextensions-apiserver builds a custom resource's table from the printer
columns of the served version: NAME first, then one column per printer column
with its ``name``, ``type``, ``format``, ``priority`` and ``description`` (or
"Custom resource definition column (in JSONPath format): <path>" when none is
given). A version without printer columns gets one "Age" column of type
``date`` on ``.metadata.creationTimestamp``. Each cell is the first value the
column's JSONPath reaches, converted by column type as Kubernetes'
``cellForJSONValue`` does:

- ``string``: strings as they are, other scalars as Go prints them
  (``true``, ``3``, ``1.5``, ``1e+06``), maps and lists as compact JSON;
- ``integer``/``number``: JSON numbers as int/float (a float truncates to int);
- ``boolean``: only JSON booleans;
- ``date``: an RFC 3339 string rendered as an age ("5m"), "<invalid>" if it does
  not parse;
- anything else, a missing value, or a value of the wrong type: ``null``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from corral.machinery.printers import descriptions as doc
from corral.machinery.printers.cells import name
from corral.machinery.printers.columns import NAME, ColumnDefinition, Obj, Printer, build_table
from corral.machinery.printers.duration import parse_time, since
from corral.machinery.printers.jsonpath import Step, compile_path, find

DEFAULT_COLUMNS: tuple[Mapping[str, Any], ...] = (
    {
        "name": "Age",
        "type": "date",
        "jsonPath": ".metadata.creationTimestamp",
        "description": doc.CREATION_TIMESTAMP,
    },
)


def go_float(value: float) -> str:
    """A float64 as Go prints it with ``%v``: shortest digits, %e below 1e-4 or from 1e6."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    point = len(digits) + int(exponent)  # position of the decimal point
    exp = point - 1
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _go_json(value: object) -> str:
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    return _go_json(value)


def cell_for(column_type: str, value: object, now: datetime) -> Any:
    """``cellForJSONValue`` (and the string printing before it) for one value."""
    if column_type == "string":
        return _as_text(value)
    if value is None or (isinstance(value, bool) and column_type in ("integer", "number")):
        return None
    if column_type == "integer" and isinstance(value, int | float):
        return int(value)
    if column_type == "number" and isinstance(value, int | float):
        return float(value)
    if column_type == "boolean" and isinstance(value, bool):
        return value
    if column_type == "date" and isinstance(value, str):
        if value in ("", "null"):
            return "<unknown>"
        if parse_time(value) is None:
            return "<invalid>"
        return since(value, now)
    return None


def crd_printer(columns: Sequence[Mapping[str, Any]]) -> Printer:
    """A printer for custom resources from a version's ``additionalPrinterColumns``."""
    specs = list(columns) or list(DEFAULT_COLUMNS)
    paths: list[tuple[Step, ...]] = []
    definitions = [NAME]
    for spec in specs:
        json_path = str(spec.get("jsonPath") or "")
        paths.append(compile_path(json_path))
        description = spec.get("description") or (
            f"Custom resource definition column (in JSONPath format): {json_path}"
        )
        priority = spec.get("priority")
        definitions.append(
            ColumnDefinition(
                name=str(spec.get("name") or ""),
                type=str(spec.get("type") or ""),
                format=str(spec.get("format") or ""),
                description=str(description),
                priority=priority if isinstance(priority, int) else 0,
            )
        )
    types = [d.type for d in definitions[1:]]

    def cells(obj: Obj, now: datetime) -> list[Any]:
        row: list[Any] = [name(obj)]
        for path, column_type in zip(paths, types, strict=True):
            found = find(path, obj)
            row.append(cell_for(column_type, found[0], now) if found else None)
        return row

    return Printer(tuple(definitions), cells)


def crd_table(
    columns: Sequence[Mapping[str, Any]],
    objects: Sequence[Obj],
    *,
    now: datetime,
    include_object: str = "Metadata",
    wide_columns: bool = True,
    metadata: Mapping[str, Any] | None = None,
    version: str = "v1",
) -> dict[str, Any]:
    """The Table of custom resources for the served version's printer columns."""
    return build_table(
        crd_printer(columns),
        objects,
        now=now,
        include_object=include_object,
        wide_columns=wide_columns,
        metadata=metadata,
        version=version,
    )
