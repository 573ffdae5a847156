"""The store's managedFields bookkeeping: who owns what after each write.

Every create and update passes an `Ownership` to the store, which calls it
once the object to be stored is final (after the status split, server-owned
metadata and defaults), so the fields a writer is credited with are those
that really change in storage:

- `UpdatedBy` (create, PUT, non-apply patches, ``/status``, ``/scale``,
  ``/binding``): `corral.machinery.managedfields.track_update` with the
  stored entries as the starting point — or the body's own entries when it
  carries some (on the main resource only), or none when it sets
  ``managedFields`` to ``[]`` or ``[{}]``.
- `Applied` (server-side apply): the entries the apply computed.

Without an `Ownership` (the server's own writes: bootstrap, the CRD
controller) the stored entries are kept as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from corral.apiserver.registry import ResourceType
from corral.machinery.managedfields import (
    Entry,
    FieldType,
    Writer,
    decode_entries,
    encode_entries,
    is_reset,
    track_update,
    types_for,
)

MANAGED_FIELDS = "managedFields"
_ABSENT: Any = object()


class Ownership(Protocol):
    def record(
        self, rt: ResourceType, old: dict[str, Any] | None, new: dict[str, Any], subresource: str
    ) -> None:
        """Set ``new``'s ``metadata.managedFields`` for a write that turns ``old`` into it."""


def field_types(rt: ResourceType) -> FieldType:
    """The kind's merge structure (a custom resource's from its served version's schema)."""
    schema = rt.custom.schema if rt.custom is not None else None
    return types_for(rt.gvk, schema if isinstance(schema, dict) else None)


def writer_for(rt: ResourceType, manager: str, subresource: str) -> Writer:
    return Writer(manager, rt.api_version, subresource, rt.has_status_subresource)


def _without_managed(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or MANAGED_FIELDS not in meta:
        return obj
    out = dict(obj)
    out["metadata"] = {k: v for k, v in meta.items() if k != MANAGED_FIELDS}
    return out


def _set_entries(obj: dict[str, Any], entries: list[Entry]) -> None:
    meta = obj.setdefault("metadata", {})
    encoded = encode_entries(entries)
    if encoded:
        meta[MANAGED_FIELDS] = encoded
    else:
        meta.pop(MANAGED_FIELDS, None)


@dataclass(frozen=True, slots=True)
class UpdatedBy:
    """A non-apply write by ``manager`` (through ``subresource``, if it names one)."""

    manager: str
    subresource: str | None = None

    def record(
        self, rt: ResourceType, old: dict[str, Any] | None, new: dict[str, Any], subresource: str
    ) -> None:
        if self.subresource is not None:
            subresource = self.subresource
        meta = new.setdefault("metadata", {})
        requested = meta.pop(MANAGED_FIELDS, _ABSENT)
        stored = decode_entries((old or {}).get("metadata", {}).get(MANAGED_FIELDS))
        if subresource:
            entries = stored
        elif is_reset(requested):
            entries = []
        else:
            entries = decode_entries(requested) if requested is not _ABSENT else []
            if not entries:
                entries = stored
        before = _without_managed(old) if old is not None else None
        writer = writer_for(rt, self.manager, subresource)
        _set_entries(new, track_update(field_types(rt), before, new, writer, entries))


@dataclass(slots=True)
class Applied:
    """A server-side apply: the entries were computed with the merged object."""

    entries: list[Entry] = field(default_factory=list)

    def record(
        self, rt: ResourceType, old: dict[str, Any] | None, new: dict[str, Any], subresource: str
    ) -> None:
        _set_entries(new, self.entries)


def keep_stored(old: dict[str, Any], new: dict[str, Any]) -> None:
    """A write without bookkeeping: the stored entries stay (unless the body reset them)."""
    meta = new.setdefault("metadata", {})
    requested = meta.get(MANAGED_FIELDS, _ABSENT)
    if requested is not _ABSENT and (is_reset(requested) or decode_entries(requested)):
        if is_reset(requested):
            meta.pop(MANAGED_FIELDS, None)
        return
    stored = old.get("metadata", {}).get(MANAGED_FIELDS)
    if stored:
        meta[MANAGED_FIELDS] = stored
    else:
        meta.pop(MANAGED_FIELDS, None)
