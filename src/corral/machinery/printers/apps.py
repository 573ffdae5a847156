"""Tables for apps/v1: deployments, replica sets, stateful sets, daemon sets.

Workload tables answer "is it rolled out?": READY is "ready/desired" for
deployments and stateful sets (``status.readyReplicas`` over ``spec.replicas``),
replica sets and daemon sets show their counters as integers. Wide tables add
the pod template's container names and images, comma-joined, and the selector
in its canonical string form (``k=v,k2 in (a,b)``). Controller revisions print
in ``misc.py`` with the other kinds that are not workloads themselves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from corral.machinery.printers import descriptions as doc
from corral.machinery.printers.cells import (
    container_cells,
    dig,
    format_labels,
    integer,
    items,
    mapping,
    name,
    selector_string,
)
from corral.machinery.printers.columns import (
    AGE,
    CONTAINERS,
    IMAGES,
    NAME,
    ColumnDefinition,
    Obj,
    Printer,
    wide,
)
from corral.machinery.printers.duration import since

_READY = ColumnDefinition("Ready", description="Number of the pod with ready state")

DEPLOYMENT_COLUMNS = (
    NAME,
    _READY,
    ColumnDefinition("Up-to-date", description=doc.DEPLOY_UPDATED),
    ColumnDefinition("Available", description=doc.DEPLOY_AVAILABLE),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", doc.DEPLOY_SELECTOR),
)
REPLICA_SET_COLUMNS = (
    NAME,
    ColumnDefinition("Desired", "integer", description=doc.RS_SPEC_REPLICAS),
    ColumnDefinition("Current", "integer", description=doc.RS_STATUS_REPLICAS),
    ColumnDefinition("Ready", "integer", description=doc.RS_READY_REPLICAS),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", doc.RS_SELECTOR),
)
STATEFUL_SET_COLUMNS = (NAME, _READY, AGE, CONTAINERS, IMAGES)
DAEMON_SET_COLUMNS = (
    NAME,
    ColumnDefinition("Desired", "integer", description=doc.DS_DESIRED),
    ColumnDefinition("Current", "integer", description=doc.DS_CURRENT),
    ColumnDefinition("Ready", "integer", description=doc.DS_READY),
    ColumnDefinition("Up-to-date", "integer", description=doc.DS_UPDATED),
    ColumnDefinition("Available", "integer", description=doc.DS_AVAILABLE),
    ColumnDefinition("Node Selector", description=doc.NODE_SELECTOR),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", doc.DS_SELECTOR),
)


def _age(obj: Obj, now: datetime) -> str:
    return since(dig(obj, "metadata", "creationTimestamp"), now)


def _template_containers(obj: Obj) -> list[str]:
    return container_cells(items(obj, "spec", "template", "spec", "containers"))


def _selector(obj: Obj) -> str:
    return selector_string(dig(obj, "spec", "selector"))


def _ready(obj: Obj) -> str:
    return f"{integer(obj, 'status', 'readyReplicas')}/{integer(obj, 'spec', 'replicas')}"


def deployment_cells(d: Obj, now: datetime) -> list[Any]:
    return [
        name(d),
        _ready(d),
        integer(d, "status", "updatedReplicas"),
        integer(d, "status", "availableReplicas"),
        _age(d, now),
        *_template_containers(d),
        _selector(d),
    ]


def replica_set_cells(rs: Obj, now: datetime) -> list[Any]:
    return [
        name(rs),
        integer(rs, "spec", "replicas"),
        integer(rs, "status", "replicas"),
        integer(rs, "status", "readyReplicas"),
        _age(rs, now),
        *_template_containers(rs),
        _selector(rs),
    ]


def stateful_set_cells(sts: Obj, now: datetime) -> list[Any]:
    return [name(sts), _ready(sts), _age(sts, now), *_template_containers(sts)]


def daemon_set_cells(ds: Obj, now: datetime) -> list[Any]:
    return [
        name(ds),
        integer(ds, "status", "desiredNumberScheduled"),
        integer(ds, "status", "currentNumberScheduled"),
        integer(ds, "status", "numberReady"),
        integer(ds, "status", "updatedNumberScheduled"),
        integer(ds, "status", "numberAvailable"),
        format_labels(mapping(ds, "spec", "template", "spec", "nodeSelector")),
        _age(ds, now),
        *_template_containers(ds),
        _selector(ds),
    ]


PRINTERS = {
    ("apps", "deployments"): Printer(DEPLOYMENT_COLUMNS, deployment_cells),
    ("apps", "replicasets"): Printer(REPLICA_SET_COLUMNS, replica_set_cells),
    ("apps", "statefulsets"): Printer(STATEFUL_SET_COLUMNS, stateful_set_cells),
    ("apps", "daemonsets"): Printer(DAEMON_SET_COLUMNS, daemon_set_cells),
}
