"""The values the storage log hands out: stored keys, list pages and events.

They are frozen dataclasses with slots: cheap to make on the hot path, safe to
share between the watch cache and every watcher of an event (the value bytes
are encoded once per revision and never copied).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KeyValue:
    """One key at one revision.

    ``mod_revision`` is the revision of the write that produced this state; it
    is what the API server reports as ``resourceVersion``. ``create_revision``
    is the revision at which the key was (last) created. ``lease`` is the TTL in
    seconds the key was written with, 0 for none.
    """

    key: str
    value: bytes
    create_revision: int
    mod_revision: int
    lease: int = 0


class EventType(enum.Enum):
    """What a write did to a key."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Event:
    """One write, as a watcher sees it.

    For a delete, ``kv.value`` is the last value the key had and
    ``kv.mod_revision`` is the revision of the delete itself.
    ``prev_revision`` is the revision the key was at before this write (0 for
    a create).
    """

    type: EventType
    kv: KeyValue
    prev_revision: int = 0

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


@dataclass(frozen=True, slots=True)
class ListResult:
    """One page of a list, read at exactly one revision.

    ``revision`` is the revision the page was read at; pass it back (with the
    last key as ``start_after``) to read the next page consistently. ``more``
    says that keys remain after this page.
    """

    items: list[KeyValue]
    revision: int
    more: bool
