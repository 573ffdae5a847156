"""managedFields entries, and how a write changes who owns what.

An entry is ``{manager, operation, apiVersion, time, fieldsType: FieldsV1,
fieldsV1, subresource}``. Entries are told apart as Kubernetes does: by
manager, operation and subresource, and for ``Update`` also by apiVersion
(an applier keeps one entry whatever version it applies with).

What it decides, as structured-merge-diff's ``Updater`` does:

- **Update** (create, PUT, every non-apply patch, ``/status``, ``/scale``):
  the writer's entry gains the fields the write added or modified (and
  loses the removed ones); every other entry loses the fields the write
  added, modified or removed. The entry's time moves only when it gained
  something. Entries left empty are dropped; beyond ten Update entries the
  oldest are folded into ``ancient-changes``.
- **Apply**: the applier's entry becomes exactly the fields of its
  configuration. Fields it owned before and no longer applies are removed
  from the object unless another entry owns them. A field the configuration
  changes that another entry owns is a conflict (409), unless ``force``,
  which moves the field to the applier.
- Server-owned metadata (name, namespace, uid, resourceVersion, generation,
  creationTimestamp, managedFields, ``apiVersion``/``kind``) is never owned;
  nor is ``status`` through the main resource of a kind with a status
  subresource, nor anything but ``status`` through ``/status``.
- A write whose body sets ``metadata.managedFields`` to ``[]`` or ``[{}]``
  resets them: the object is stored without any. A body that leaves them out
  keeps the stored ones.
- Entries are sorted as Kubernetes sorts them: Apply before Update, then by
  time, manager, apiVersion, subresource.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from corral.machinery.managedfields.errors import ApplyConflicts, Conflict
from corral.machinery.managedfields.fieldset import (
    FieldSet,
    all_members,
    difference,
    intersection,
    paths,
    render_path,
    sort_set,
    union,
    valid_set,
)
from corral.machinery.managedfields.types import FieldType
from corral.machinery.managedfields.walk import (
    compare,
    config_fields,
    merge,
    remove_items,
)

APPLY, UPDATE = "Apply", "Update"

#: Server-owned metadata no manager owns (Kubernetes' "stripMeta").
_META_IGNORED = frozenset(
    {
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)

_clock: list[Any] = [0, ""]


def now_rfc3339() -> str:
    """The time now, RFC 3339 to the second (formatted once per second)."""
    second = int(time.time())
    if _clock[0] != second:
        _clock[0] = second
        _clock[1] = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(_clock[1])


@dataclass(frozen=True, slots=True)
class Entry:
    manager: str
    operation: str
    api_version: str
    time: str
    fields: FieldSet
    subresource: str = ""

    @property
    def identity(self) -> tuple[str, str, str, str]:
        version = self.api_version if self.operation == UPDATE else ""
        return (self.manager, self.operation, version, self.subresource)

    def printed(self) -> str:
        """The manager as conflict messages print it."""
        text = f'"{self.manager}"'
        if self.subresource:
            text += f' with subresource "{self.subresource}"'
        if self.operation == UPDATE:
            text += f" using {self.api_version}"
        return text

    def encode(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
        }
        if self.time:
            out["time"] = self.time
        out["fieldsType"] = "FieldsV1"
        out["fieldsV1"] = self.fields
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def is_reset(value: Any) -> bool:
    """True if a request's ``metadata.managedFields`` asks to clear them."""
    return isinstance(value, list) and (value == [] or value == [{}])


def decode_entries(value: Any) -> list[Entry]:
    """The entries of a stored ``metadata.managedFields`` (malformed ones are skipped)."""
    out: list[Entry] = []
    if not isinstance(value, list):
        return out
    for raw in value:
        if not isinstance(raw, dict):
            continue
        fields = raw.get("fieldsV1", {})
        operation = raw.get("operation")
        if operation not in (APPLY, UPDATE) or not valid_set(fields):
            continue
        out.append(
            Entry(
                manager=str(raw.get("manager", "")),
                operation=operation,
                api_version=str(raw.get("apiVersion", "")),
                time=str(raw.get("time", "")),
                fields=fields,
                subresource=str(raw.get("subresource", "")),
            )
        )
    return out


def encode_entries(entries: list[Entry]) -> list[dict[str, Any]]:
    ordered = sorted(
        entries,
        key=lambda e: (e.operation, e.time, e.manager, e.api_version, e.subresource),
    )
    return [e.encode() for e in ordered if e.fields]


def owned_part(writer: Writer, obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without what no manager owns, as a shallow copy.

    Cutting these before walking is what keeps a create's bookkeeping cheap.
    """
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key in ("apiVersion", "kind"):
            continue
        if writer.subresource == "status" and key not in ("status", "metadata"):
            continue
        if key == "status" and writer.has_status_subresource and writer.subresource != "status":
            continue
        if key == "metadata" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in _META_IGNORED}
            if not value:
                continue
        out[key] = value
    return out


@dataclass(frozen=True, slots=True)
class Writer:
    """Who writes: the manager name, the version and subresource it writes through."""

    manager: str
    api_version: str
    subresource: str = ""
    has_status_subresource: bool = False


def track_update(
    t: FieldType,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    writer: Writer,
    entries: list[Entry],
) -> list[Entry]:
    """The entries after ``writer`` turned ``old`` (None: nothing, a create) into ``new``."""
    before = owned_part(writer, old) if old is not None else {}
    changes = compare(t, before, owned_part(writer, new))
    changed = changes.changed
    removed = changes.removed
    if not changed and not removed:
        return entries
    mine = Entry(writer.manager, UPDATE, writer.api_version, "", {}, writer.subresource)
    out: list[Entry] = []
    previous: Entry | None = None
    for entry in entries:
        if entry.identity == mine.identity:
            previous = entry
            continue
        kept = difference(difference(entry.fields, changed), removed)
        if kept is not entry.fields:
            entry = replace(entry, fields=kept)
        if entry.fields:
            out.append(entry)
    base = difference(previous.fields, removed) if previous is not None else {}
    if changed:
        fields = sort_set(union(base, changed))
        out.append(
            Entry(
                writer.manager,
                UPDATE,
                writer.api_version,
                now_rfc3339(),
                fields,
                writer.subresource,
            )
        )
    elif previous is not None and base:
        out.append(replace(previous, fields=base))
    return cap_updaters(out)


MAX_UPDATERS = 10
ANCIENT = "ancient-changes"


def cap_updaters(entries: list[Entry]) -> list[Entry]:
    """At most `MAX_UPDATERS` Update entries: the oldest are folded into ``ancient-changes``.

    Per apiVersion, as Kubernetes does; the bucket keeps the newest folded time.
    """
    updaters = sorted(
        (e for e in entries if e.operation == UPDATE), key=lambda e: (e.time, e.manager)
    )
    excess = len(updaters) - MAX_UPDATERS
    if excess <= 0:
        return entries
    folded: dict[str, Entry] = {}
    gone: set[int] = set()
    for entry in updaters:
        if excess <= 0:
            break
        bucket = folded.get(entry.api_version)
        if bucket is None:
            folded[entry.api_version] = entry
            gone.add(id(entry))
            continue
        fields = union(bucket.fields, entry.fields)
        folded[entry.api_version] = Entry(ANCIENT, UPDATE, entry.api_version, entry.time, fields)
        gone.add(id(entry))
        excess -= 1
    # A version's first entry stays itself when nothing was folded into it.
    alone = {id(b) for b in folded.values() if id(b) in gone}
    kept = [e for e in entries if id(e) not in gone or id(e) in alone]
    kept.extend(b for b in folded.values() if id(b) not in alone)
    return kept


def apply_config(
    t: FieldType,
    live: dict[str, Any] | None,
    config: dict[str, Any],
    writer: Writer,
    entries: list[Entry],
    *,
    force: bool,
) -> tuple[dict[str, Any], list[Entry]]:
    """The object and entries after ``writer`` applied ``config`` to ``live``.

    Raises `UndeclaredField` for a field the schema lacks and `ApplyConflicts`
    when, without ``force``, the change touches fields other entries own.
    """
    applied = config_fields(t, owned_part(writer, config))
    mine = Entry(writer.manager, APPLY, writer.api_version, "", applied, writer.subresource)
    previous = next((e for e in entries if e.identity == mine.identity), None)
    others: list[Entry] = [e for e in entries if e.identity != mine.identity]
    base = live or {}
    merged = merge(t, base, config)
    # Re-applying the same fields (the usual case) removes nothing.
    same = previous is not None and previous.fields == applied
    if previous is not None and previous.fields and not same:
        owned: FieldSet = all_members(applied)
        for entry in others:
            owned = union(owned, all_members(entry.fields))
        remove = difference(all_members(previous.fields), owned)
        merged = remove_items(t, merged, remove)
    changes = compare(t, owned_part(writer, base), owned_part(writer, merged))
    changed = changes.changed
    conflicts: list[Conflict] = []
    out: list[Entry] = []
    for entry in others:
        clash = intersection(entry.fields, changed)
        if clash and not force:
            conflicts.extend(Conflict(entry.printed(), render_path(p)) for p in paths(clash))
            continue
        kept = difference(difference(entry.fields, clash), changes.removed)
        if kept:
            out.append(entry if kept is entry.fields else replace(entry, fields=kept))
    if conflicts:
        raise ApplyConflicts(sorted(conflicts, key=lambda c: (c.manager, c.path)))
    if applied:
        if same and previous is not None:
            time = previous.time if merged == base else now_rfc3339()
            out.append(replace(previous, time=time))
        else:
            out.append(replace(mine, fields=sort_set(applied), time=now_rfc3339()))
    return merged, out
