"""The ``meta.k8s.io/v1`` Table: column definitions, printers, and assembling rows.

kubectl asks for ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and
prints whatever columns the server returns, so the server decides what ``kubectl
get`` shows. This module holds the shapes every printer shares and the one place
that turns a printer's cells into the Table object, as kube-apiserver's
``TableGenerator`` and ``asTable`` response transform do:

- Every column definition carries all five fields (``name``, ``type``,
  ``format``, ``description``, ``priority``); the fields have no ``omitempty``.
- Column names are Kubernetes' own ("Name", "Up-to-date", "Nominated Node");
  kubectl upper-cases them for its header line.
- Wide columns have priority 1. kube-apiserver always generates the wide table;
  ``wide_columns=False`` drops priority > 0 columns and their cells, as
  ``GenerateOptions{Wide: false}`` would.
- Each row's ``object`` follows ``includeObject``: ``Metadata`` (the default) is a
  ``PartialObjectMetadata`` of the row's object, ``Object`` the object itself,
  ``None`` no object at all.
- ``metadata`` holds the list's ``resourceVersion``, ``continue`` and
  ``remainingItemCount`` when they are set (``ListMeta`` omits empty fields).
- A table without rows still has its column definitions, and ``rows`` is ``[]``.

Errors: :class:`TableError` (a ``ValueError``) for a bad ``includeObject`` value
or an unusable printer column; the API layer answers it with 400 BadRequest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from corral.machinery.printers import descriptions as doc

Obj = Mapping[str, Any]
CellsFn = Callable[[Obj, datetime], list[Any]]
ConditionsFn = Callable[[Obj], list[dict[str, str]]]

INCLUDE_OBJECT_VALUES = ("None", "Object", "Metadata")


class TableError(ValueError):
    """A Table that cannot be built from the request's options or a printer's columns."""


@dataclass(frozen=True, slots=True)
class ColumnDefinition:
    """``metav1.TableColumnDefinition``: one column of a Table."""

    name: str
    type: str = "string"
    format: str = ""
    description: str = ""
    priority: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


NAME = ColumnDefinition("Name", format="name", description=doc.NAME)
AGE = ColumnDefinition("Age", description=doc.CREATION_TIMESTAMP)
CREATED_AT = ColumnDefinition("Created At", type="date", description=doc.CREATION_TIMESTAMP)
CONTAINERS = ColumnDefinition(
    "Containers", priority=1, description="Names of each container in the template."
)
IMAGES = ColumnDefinition(
    "Images", priority=1, description="Images referenced by each container in the template."
)


def wide(name: str, description: str, type_: str = "string") -> ColumnDefinition:
    """A priority-1 column: shown by ``kubectl get -o wide`` only."""
    return ColumnDefinition(name, type_, description=description, priority=1)


@dataclass(frozen=True, slots=True)
class Printer:
    """How one resource prints: its columns and a function from an object to its cells.

    ``cells`` returns one cell per column, wide ones included; ``conditions``
    optionally gives the row's ``TableRowCondition`` list (pods mark Completed).
    """

    columns: tuple[ColumnDefinition, ...]
    cells: CellsFn
    conditions: ConditionsFn | None = None


def partial_object_metadata(obj: Obj, version: str = "v1") -> dict[str, Any]:
    """``meta.AsPartialObjectMetadata``: the object's metadata under its own kind."""
    metadata = obj.get("metadata")
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": dict(metadata) if isinstance(metadata, Mapping) else {},
    }


def row_object(obj: Obj, include_object: str, version: str = "v1") -> dict[str, Any] | None:
    """What a row carries as ``object`` for an ``includeObject`` value (None: nothing)."""
    if include_object in ("Metadata", ""):
        return partial_object_metadata(obj, version)
    if include_object == "Object":
        return dict(obj)
    if include_object == "None":
        return None
    allowed = ", ".join(f'"{v}"' for v in INCLUDE_OBJECT_VALUES)
    raise TableError(
        f'includeObject: Unsupported value: "{include_object}": supported values: {allowed}'
    )


def list_metadata(
    resource_version: str | None = None,
    continue_token: str | None = None,
    remaining_item_count: int | None = None,
) -> dict[str, Any]:
    """A Table's ``ListMeta``, leaving out what is unset as Kubernetes does."""
    meta: dict[str, Any] = {}
    if resource_version:
        meta["resourceVersion"] = resource_version
    if continue_token:
        meta["continue"] = continue_token
    if remaining_item_count is not None:
        meta["remainingItemCount"] = remaining_item_count
    return meta


def build_table(
    printer: Printer,
    objects: Sequence[Obj],
    *,
    now: datetime,
    include_object: str = "Metadata",
    wide_columns: bool = True,
    metadata: Mapping[str, Any] | None = None,
    version: str = "v1",
) -> dict[str, Any]:
    """The Table object for ``objects`` printed by ``printer``.

    ``version`` is the ``meta.k8s.io`` version the client asked for (``v1``, or
    ``v1beta1`` for old clients); the Table and its PartialObjectMetadata use it.
    """
    keep = [i for i, c in enumerate(printer.columns) if wide_columns or c.priority == 0]
    rows: list[dict[str, Any]] = []
    for obj in objects:
        cells = printer.cells(obj, now)
        if len(cells) != len(printer.columns):
            raise TableError(
                f"printer produced {len(cells)} cells for {len(printer.columns)} columns"
            )
        row: dict[str, Any] = {"cells": [cells[i] for i in keep]}
        if printer.conditions is not None:
            conditions = printer.conditions(obj)
            if conditions:
                row["conditions"] = conditions
        shown = row_object(obj, include_object, version)
        if shown is not None:
            row["object"] = shown
        rows.append(row)
    if not objects:
        row_object({}, include_object)  # still reject a bad includeObject value
    return {
        "kind": "Table",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": dict(metadata or {}),
        "columnDefinitions": [printer.columns[i].to_dict() for i in keep],
        "rows": rows,
    }
