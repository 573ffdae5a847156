"""Table output: what ``kubectl get`` prints, computed on the server as Kubernetes does.

A request with ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` gets a
``meta.k8s.io/v1`` Table instead of the objects: column definitions plus one
row of cells per object. This package decides those columns and cells for every
built-in kind (following ``k8s.io/kubernetes/pkg/printers/internalversion``),
for custom resources from their CRD's printer columns, and the default
"Name, Created At" table for everything else. It works on plain dicts and takes
the current time as an argument, so it is pure and testable; the API server
chooses the version, encodes the result and maps :class:`TableError` to 400.

Errors: :class:`TableError` (``ValueError``) — a bad ``includeObject`` value or
a printer column that cannot be used; :class:`JSONPathError` is its subclass
for a CRD column's JSONPath outside the supported subset.
"""

from corral.machinery.printers.columns import ColumnDefinition, Printer, TableError
from corral.machinery.printers.crd import crd_printer, crd_table
from corral.machinery.printers.duration import human_duration, since
from corral.machinery.printers.jsonpath import JSONPathError
from corral.machinery.printers.table import printer_for, to_table

__all__ = [
    "ColumnDefinition",
    "JSONPathError",
    "Printer",
    "TableError",
    "crd_printer",
    "crd_table",
    "human_duration",
    "printer_for",
    "since",
    "to_table",
]
