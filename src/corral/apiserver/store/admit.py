"""The store's call into admission: one place that builds the `Attributes`.

Creates and updates call `admit` after the kind's defaults and validation
and before the storage write; the `Admitted` it returns is aborted when the
write does not happen and committed when it does. Without an admission
chain (start-up bootstrap, unit tests) nothing is admitted.
"""

from __future__ import annotations

from typing import Any

from corral.apiserver.registry import ResourceType
from corral.machinery.admission import Admission, Admitted, Attributes, Operation


async def admit(
    admission: Admission | None,
    rt: ResourceType,
    operation: Operation,
    namespace: str,
    name: str,
    obj: dict[str, Any] | None,
    old: dict[str, Any] | None = None,
    *,
    subresource: str = "",
    dry_run: bool = False,
) -> Admitted:
    if admission is None:
        return Admitted()
    attrs = Attributes(
        operation,
        rt.group,
        rt.version,
        rt.resource,
        rt.kind,
        namespace,
        name,
        obj=obj,
        old=old,
        subresource=subresource,
        dry_run=dry_run,
    )
    return await admission.admit(attrs)


async def released(
    admission: Admission | None, rt: ResourceType, namespace: str, obj: dict[str, Any]
) -> None:
    """``obj`` was deleted: let admission give back what it held."""
    if admission is None:
        return
    name = str((obj.get("metadata") or {}).get("name", ""))
    attrs = Attributes(
        Operation.DELETE, rt.group, rt.version, rt.resource, rt.kind, namespace, name, old=obj
    )
    await admission.released(attrs)
