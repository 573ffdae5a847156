"""Shared clock and small builders for the printer tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from corral.machinery.printers import to_table

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def ago(**delta: float) -> str:
    """The RFC 3339 timestamp ``delta`` before ``NOW``."""
    when = NOW - timedelta(**delta)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(name: str, namespace: str | None = "default", **extra: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "creationTimestamp": ago(minutes=5), **extra}
    if namespace is not None:
        metadata["namespace"] = namespace
    return metadata


def cells(group: str, resource: str, obj: dict[str, Any], *, wide: bool = False) -> list[Any]:
    """The cells of ``obj``'s row, the wide ones only when ``wide``."""
    table = to_table(group, resource, [obj], now=NOW, wide_columns=wide)
    row_cells: list[Any] = table["rows"][0]["cells"]
    return row_cells


def headers(group: str, resource: str, *, wide: bool = False) -> list[str]:
    """The column names of the resource's table, upper-cased as kubectl prints them."""
    table = to_table(group, resource, [], now=NOW, wide_columns=wide)
    return [c["name"].upper() for c in table["columnDefinitions"]]
