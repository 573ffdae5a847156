"""``to_table``: the entry point that picks a resource's printer and builds its Table.

Built-in resources print with the Kubernetes columns defined in the kind
modules (``pods``, ``events``, ``core``, ``apps``, ``batch``, ``rbac``,
``networking``, ``misc``). Every other resource — roles, cluster roles, limit
ranges, CRDs, and any resource without a printer — gets Kubernetes' default
table convertor: "Name" and "Created At" (type ``date``, the creation time in
RFC 3339), which kubectl shows as NAME and CREATED AT. Custom resources print
from their CRD's columns through :func:`~corral.machinery.printers.crd.crd_table`.

The table's ``metadata`` copies the list's ``resourceVersion``, ``continue`` and
``remainingItemCount`` (or, for a single object, its ``resourceVersion``) from
the ``metadata`` argument.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from corral.machinery.printers import apps, batch, core, events, misc, networking, pods, rbac
from corral.machinery.printers.cells import dig, name
from corral.machinery.printers.columns import (
    CREATED_AT,
    NAME,
    Obj,
    Printer,
    build_table,
    list_metadata,
)
from corral.machinery.printers.duration import rfc3339


def _created_at_cells(obj: Obj, now: datetime) -> list[Any]:
    return [name(obj), rfc3339(dig(obj, "metadata", "creationTimestamp"))]


DEFAULT_PRINTER = Printer((NAME, CREATED_AT), _created_at_cells)

PRINTERS: dict[tuple[str, str], Printer] = {
    **pods.PRINTERS,
    **events.PRINTERS,
    **core.PRINTERS,
    **apps.PRINTERS,
    **batch.PRINTERS,
    **rbac.PRINTERS,
    **networking.PRINTERS,
    **misc.PRINTERS,
}


def printer_for(group: str, resource: str) -> Printer:
    """The printer of a resource ("" or "core" is the core group), else the default one."""
    return PRINTERS.get(("" if group == "core" else group, resource), DEFAULT_PRINTER)


def table_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The Table's ``ListMeta`` from a list's (or an object's) metadata."""
    source = metadata or {}
    remaining = source.get("remainingItemCount")
    return list_metadata(
        resource_version=str(source.get("resourceVersion") or "") or None,
        continue_token=str(source.get("continue") or "") or None,
        remaining_item_count=remaining if isinstance(remaining, int) else None,
    )


def to_table(
    group: str,
    resource: str,
    objects: Sequence[Obj],
    *,
    now: datetime,
    include_object: str = "Metadata",
    wide_columns: bool = True,
    metadata: Mapping[str, Any] | None = None,
    version: str = "v1",
) -> dict[str, Any]:
    """The ``meta.k8s.io/v1`` Table of ``objects`` of ``group``/``resource``."""
    return build_table(
        printer_for(group, resource),
        objects,
        now=now,
        include_object=include_object,
        wide_columns=wide_columns,
        metadata=table_metadata(metadata),
        version=version,
    )
