"""The errors of managed-fields bookkeeping and server-side apply.

    ManagedFieldsError
    ├── UndeclaredField      an apply configuration sets a field the schema does not have
    ├── BadListItem          a list item without its key fields, or a key given twice
    └── ApplyConflicts       fields of the configuration are owned by other managers

Each turns into the ``Status`` Kubernetes sends (`to_status_error`): a 400
``failed to create typed patch object`` for an undeclared field, a 409
Conflict with one ``FieldManagerConflict`` cause per field for conflicts.
"""

from __future__ import annotations

from dataclasses import dataclass

from corral.machinery.status import (
    BadRequest,
    CauseType,
    StatusCause,
    StatusDetails,
    StatusError,
)


class ManagedFieldsError(Exception):
    """Base of this package's errors."""

    def to_status_error(self, context: str = "") -> StatusError:
        raise NotImplementedError


class UndeclaredField(ManagedFieldsError):
    def __init__(self, path: str) -> None:
        super().__init__(f"{path}: field not declared in schema")
        self.path = path

    def to_status_error(self, context: str = "") -> StatusError:
        return BadRequest(f"failed to create typed patch object ({context}): {self}")


class BadListItem(ManagedFieldsError):
    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path

    def to_status_error(self, context: str = "") -> StatusError:
        return BadRequest(f"failed to create typed patch object ({context}): {self}")


@dataclass(frozen=True, slots=True)
class Conflict:
    """One field another manager owns: who (as Kubernetes prints it) and where."""

    manager: str
    path: str


class ApplyConflicts(ManagedFieldsError):
    def __init__(self, conflicts: list[Conflict]) -> None:
        self.conflicts = conflicts
        super().__init__(conflict_message(conflicts))

    def to_status_error(self, context: str = "") -> StatusError:
        causes = tuple(
            StatusCause(CauseType.FIELD_MANAGER_CONFLICT, f"conflict with {c.manager}", c.path)
            for c in self.conflicts
        )
        return StatusError(
            conflict_message(self.conflicts),
            code=409,
            reason="Conflict",
            details=StatusDetails(causes=causes),
        )


def conflict_message(conflicts: list[Conflict]) -> str:
    """Kubernetes' text: one line for one conflict, grouped by manager for several."""
    if len(conflicts) == 1:
        only = conflicts[0]
        return f"Apply failed with 1 conflict: conflict with {only.manager}: {only.path}"
    by_manager: dict[str, list[str]] = {}
    for conflict in conflicts:
        by_manager.setdefault(conflict.manager, []).append(conflict.path)
    lines = []
    for manager in sorted(by_manager):
        lines.append(f"conflicts with {manager}:")
        lines.extend(f"- {path}" for path in by_manager[manager])
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
