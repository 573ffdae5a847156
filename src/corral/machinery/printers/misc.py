"""Tables for the remaining built-in kinds: leases, endpoint slices, PDBs, revisions.

They share nothing but being small. Custom resource definitions have no printer
in Kubernetes (``kubectl get crd`` shows NAME and CREATED AT from the default
table in ``table.py``); the tables of custom resources come from ``crd.py``.

- Lease: HOLDER is ``spec.holderIdentity``, "" when nobody holds it.
- EndpointSlice: up to three ports (the number, else the port's name, else
  "*") and three addresses, "+ N more..." past that, "<unset>" when empty.
- PodDisruptionBudget: MIN AVAILABLE and MAX UNAVAILABLE as written (an int or
  a percentage), "N/A" when unset; ALLOWED DISRUPTIONS an integer.
- ControllerRevision: CONTROLLER is the controlling owner as
  "kind.group/name" in lower case ("statefulset.apps/web"), "<none>" without one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from corral.machinery.printers import descriptions as doc
from corral.machinery.printers.cells import dig, integer, items, name, text, with_more
from corral.machinery.printers.columns import AGE, NAME, ColumnDefinition, Obj, Printer
from corral.machinery.printers.duration import since

LEASE_COLUMNS = (NAME, ColumnDefinition("Holder", description=doc.LEASE_HOLDER), AGE)
ENDPOINT_SLICE_COLUMNS = (
    NAME,
    ColumnDefinition("AddressType", description=doc.SLICE_ADDRESS_TYPE),
    ColumnDefinition("Ports", description=doc.SLICE_PORTS),
    ColumnDefinition("Endpoints", description=doc.SLICE_ENDPOINTS),
    AGE,
)
PDB_COLUMNS = (
    NAME,
    ColumnDefinition(
        "Min Available", description="The minimum number of pods that must be available."
    ),
    ColumnDefinition(
        "Max Unavailable", description="The maximum number of pods that may be unavailable."
    ),
    ColumnDefinition(
        "Allowed Disruptions",
        "integer",
        description="Calculated number of pods that may be disrupted at this time.",
    ),
    AGE,
)
CONTROLLER_REVISION_COLUMNS = (
    NAME,
    ColumnDefinition("Controller", description="Controller of the object"),
    ColumnDefinition("Revision", description=doc.REVISION),
    AGE,
)


def _age(obj: Obj, now: datetime) -> str:
    return since(dig(obj, "metadata", "creationTimestamp"), now)


def lease_cells(lease: Obj, now: datetime) -> list[Any]:
    return [name(lease), text(lease, "spec", "holderIdentity"), _age(lease, now)]


def slice_ports(ports: list[Any]) -> str:
    shown = []
    for port in ports:
        number = dig(port, "port")
        port_name = dig(port, "name")
        if isinstance(number, int) and not isinstance(number, bool):
            shown.append(str(number))
        elif isinstance(port_name, str):
            shown.append(port_name)
        else:
            shown.append("*")
    return with_more(shown, len(shown), empty="<unset>")


def slice_endpoints(endpoints: list[Any]) -> str:
    addresses = [str(a) for e in endpoints for a in items(e, "addresses")]
    return with_more(addresses, len(addresses), empty="<unset>")


def endpoint_slice_cells(eps: Obj, now: datetime) -> list[Any]:
    return [
        name(eps),
        text(eps, "addressType"),
        slice_ports(items(eps, "ports")),
        slice_endpoints(items(eps, "endpoints")),
        _age(eps, now),
    ]


def _int_or_string(value: object) -> str:
    if value is None:
        return "N/A"
    return str(value)


def pdb_cells(pdb: Obj, now: datetime) -> list[Any]:
    return [
        name(pdb),
        _int_or_string(dig(pdb, "spec", "minAvailable")),
        _int_or_string(dig(pdb, "spec", "maxUnavailable")),
        integer(pdb, "status", "disruptionsAllowed"),
        _age(pdb, now),
    ]


def controller_name(obj: Obj) -> str:
    """The controlling owner reference as "kind.group/name", "<none>" without one."""
    for owner in items(obj, "metadata", "ownerReferences"):
        if dig(owner, "controller") is not True:
            continue
        api_version = text(owner, "apiVersion")
        group = api_version.rpartition("/")[0] if "/" in api_version else ""
        kind = text(owner, "kind")
        if not kind and not group:
            return text(owner, "name")
        group_kind = f"{kind}.{group}" if group else kind
        return f"{group_kind.lower()}/{text(owner, 'name')}"
    return "<none>"


def controller_revision_cells(revision: Obj, now: datetime) -> list[Any]:
    return [
        name(revision),
        controller_name(revision),
        integer(revision, "revision"),
        _age(revision, now),
    ]


PRINTERS = {
    ("coordination.k8s.io", "leases"): Printer(LEASE_COLUMNS, lease_cells),
    ("discovery.k8s.io", "endpointslices"): Printer(ENDPOINT_SLICE_COLUMNS, endpoint_slice_cells),
    ("policy", "poddisruptionbudgets"): Printer(PDB_COLUMNS, pdb_cells),
    ("apps", "controllerrevisions"): Printer(
        CONTROLLER_REVISION_COLUMNS, controller_revision_cells
    ),
}
