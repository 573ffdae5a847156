"""Table output (``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``).

kubectl asks the server to render the rows of ``kubectl get``. The columns of
each built-in kind, and Kubernetes' default table (name and creation time) for
any other, come from `corral.machinery.printers`; custom resources get the
columns of their CRD version's ``additionalPrinterColumns``. This module is
where the API server meets them, and turns a bad ``includeObject`` into 400 BadRequest.
The caller sets the Table's list metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from corral.apiserver.registry import ResourceType
from corral.machinery import printers
from corral.machinery.status import BadRequest


def to_table(
    rt: ResourceType, objects: Sequence[dict[str, Any]], include_object: str = "Metadata"
) -> dict[str, Any]:
    """The Table of ``objects`` of ``rt``, with ``includeObject`` applied."""
    try:
        if rt.custom is not None:
            return printers.crd_table(
                rt.custom.printer_columns,
                objects,
                now=datetime.now(UTC),
                include_object=include_object,
            )
        return printers.to_table(
            rt.group, rt.resource, objects, now=datetime.now(UTC), include_object=include_object
        )
    except printers.TableError as err:
        raise BadRequest(str(err)) from None
