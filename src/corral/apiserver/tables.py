"""Table output (``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``): the hook.

kubectl asks the server to render rows for ``kubectl get``. The per-kind
columns come from ``corral.machinery.printers`` (another module); this file
is the one place they plug in: `set_table_converter` replaces the converter,
and `default_table` is Kubernetes' default for kinds without a printer: the
object's name and its age.

A converter gets the resource type, the objects (plain dicts, shared: do not
modify them) and ``include_object`` (``None``, ``Metadata`` or ``Object``),
and returns the Table's ``columnDefinitions`` and ``rows``; the caller adds
kind, apiVersion and list metadata.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from corral.apiserver.registry import ResourceType

TableConverter = Callable[[ResourceType, Sequence[dict[str, Any]], str], dict[str, Any]]

_NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated."
)
_AGE_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was created."
)


def human_age(timestamp: str, now: datetime | None = None) -> str:
    """Kubernetes' short age (``5s``, ``3m``, ``2h``, ``4d``); ``<unknown>`` if unparsable."""
    try:
        then = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return "<unknown>"
    seconds = int(((now or datetime.now(UTC)) - then).total_seconds())
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    return f"{days}d" if days < 365 * 2 else f"{days // 365}y"


def row_object(obj: dict[str, Any], include_object: str) -> dict[str, Any] | None:
    """What a row carries of its object under ``includeObject``."""
    if include_object == "None":
        return None
    if include_object == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata", {}),
    }


def default_table(
    rt: ResourceType, objects: Sequence[dict[str, Any]], include_object: str
) -> dict[str, Any]:
    """Kubernetes' default table: NAME and AGE."""
    columns = [
        {
            "name": "Name",
            "type": "string",
            "format": "name",
            "description": _NAME_DESCRIPTION,
            "priority": 0,
        },
        {
            "name": "Age",
            "type": "string",
            "format": "",
            "description": _AGE_DESCRIPTION,
            "priority": 0,
        },
    ]
    rows = []
    for obj in objects:
        meta = obj.get("metadata", {})
        row: dict[str, Any] = {
            "cells": [meta.get("name", ""), human_age(meta.get("creationTimestamp", ""))]
        }
        carried = row_object(obj, include_object)
        if carried is not None:
            row["object"] = carried
        rows.append(row)
    return {"columnDefinitions": columns, "rows": rows}


_converter: TableConverter = default_table


def set_table_converter(converter: TableConverter) -> None:
    """Plug in the per-kind printers (``corral.machinery.printers``)."""
    global _converter
    _converter = converter


def to_table(
    rt: ResourceType, objects: Sequence[dict[str, Any]], include_object: str = "Metadata"
) -> dict[str, Any]:
    """The Table body (without list metadata) for ``objects`` of ``rt``."""
    table = _converter(rt, objects, include_object)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}, **table}
