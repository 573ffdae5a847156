"""managedFields and server-side apply, with structured-merge-diff's semantics.

Every write records which manager owns which fields (`track_update`);
server-side apply merges a configuration into the live object, removes what
the applier stopped applying, and refuses to take fields from other
managers unless forced (`apply_config`). How each field merges comes from
the kind's schema (`types_for`); field sets stay in the FieldsV1 form they
are stored in (`fieldset`). Errors (`errors`)::

    ManagedFieldsError
    ├── UndeclaredField
    ├── BadListItem
    └── ApplyConflicts
"""

from __future__ import annotations

from corral.machinery.managedfields.errors import (
    ApplyConflicts,
    BadListItem,
    Conflict,
    ManagedFieldsError,
    UndeclaredField,
)
from corral.machinery.managedfields.managers import (
    APPLY,
    UPDATE,
    Entry,
    Writer,
    apply_config,
    decode_entries,
    encode_entries,
    is_reset,
    track_update,
)
from corral.machinery.managedfields.types import FieldType, types_for

__all__ = [
    "APPLY",
    "UPDATE",
    "ApplyConflicts",
    "BadListItem",
    "Conflict",
    "Entry",
    "FieldType",
    "ManagedFieldsError",
    "UndeclaredField",
    "Writer",
    "apply_config",
    "decode_entries",
    "encode_entries",
    "is_reset",
    "track_update",
    "types_for",
]
