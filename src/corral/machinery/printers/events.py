"""The event table, for core/v1 events and the same objects read as events.k8s.io/v1.

Kubernetes stores one kind of Event and serves it under both groups; both
tables come from ``printEvent`` on the core fields. An events.k8s.io/v1 object
names those fields differently (``regarding``, ``note``, ``deprecatedCount``, …),
so it is mapped back to the core names before printing. What it decides:

- LAST SEEN is the series' last observation, else ``lastTimestamp``, else FIRST
  SEEN, which is ``firstTimestamp`` or else ``eventTime``.
- COUNT is the series count, else ``count``, and 1 for a singleton event.
- OBJECT is "kind/name" with the kind lower-cased ("pod/web-0").
- SOURCE is "component, host", taken from ``source`` or else the reporting
  controller and instance.
- MESSAGE is trimmed of surrounding white space.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from corral.machinery.printers import descriptions as doc
from corral.machinery.printers.cells import dig, has, integer, mapping, name, text
from corral.machinery.printers.columns import NAME, ColumnDefinition, Obj, Printer, wide
from corral.machinery.printers.duration import since

COLUMNS = (
    ColumnDefinition("Last Seen", description=doc.EVENT_LAST_TIMESTAMP),
    ColumnDefinition("Type", description=doc.EVENT_TYPE),
    ColumnDefinition("Reason", description=doc.EVENT_REASON),
    ColumnDefinition("Object", description=doc.EVENT_INVOLVED_OBJECT),
    wide("Subobject", doc.EVENT_FIELD_PATH),
    wide("Source", doc.EVENT_SOURCE),
    ColumnDefinition("Message", description=doc.EVENT_MESSAGE),
    wide("First Seen", doc.EVENT_FIRST_TIMESTAMP),
    wide("Count", doc.EVENT_COUNT),
    ColumnDefinition("Name", format="name", description=NAME.description, priority=1),
)

# events.k8s.io/v1 field -> core/v1 field
_V1_TO_CORE = {
    "regarding": "involvedObject",
    "note": "message",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
}


def as_core_event(event: Obj) -> dict[str, Any]:
    """An events.k8s.io/v1 Event with its fields under their core/v1 names."""
    core = dict(event)
    for new, old in _V1_TO_CORE.items():
        if new in core:
            core[old] = core.pop(new)
    return core


def _first_non_empty(*values: str) -> str:
    return next((v for v in values if v), "")


def event_cells(event: Obj, now: datetime) -> list[Any]:
    if text(event, "apiVersion") == "events.k8s.io/v1" or "regarding" in event:
        event = as_core_event(event)
    first_seen = (
        since(event.get("firstTimestamp"), now)
        if has(event, "firstTimestamp")
        else since(event.get("eventTime"), now)
    )
    last_seen = (
        since(event.get("lastTimestamp"), now) if has(event, "lastTimestamp") else first_seen
    )
    count = integer(event, "count")
    if has(event, "series"):
        last_seen = since(dig(event, "series", "lastObservedTime"), now)
        count = integer(event, "series", "count")
    elif count == 0:
        count = 1
    involved = mapping(event, "involvedObject")
    kind = text(involved, "kind").lower()
    target = f"{kind}/{text(involved, 'name')}" if text(involved, "name") else kind
    component = _first_non_empty(
        text(event, "source", "component"), text(event, "reportingController")
    )
    host = _first_non_empty(text(event, "source", "host"), text(event, "reportingInstance"))
    source = f"{component}, {host}" if host else component
    return [
        last_seen,
        text(event, "type"),
        text(event, "reason"),
        target,
        text(involved, "fieldPath"),
        source,
        text(event, "message").strip(),
        first_seen,
        count,
        name(event),
    ]


_PRINTER = Printer(COLUMNS, event_cells)
PRINTERS = {("", "events"): _PRINTER, ("events.k8s.io", "events"): _PRINTER}
