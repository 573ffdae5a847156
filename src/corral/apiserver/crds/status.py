"""A CRD's status: name conflicts, conditions, acceptedNames, storedVersions.

As apiextensions-apiserver's naming and establishing controllers decide:

- Names conflict when another served resource of the same group already
  uses the plural (``PluralConflict``), the singular (``SingularConflict``),
  a short name (``ShortNamesConflict``), the kind (``KindConflict``) or the
  list kind (``ListKindConflict``); the message is ``"<name>" is already in
  use``. Other CRDs and built-in kinds both count.
- ``NamesAccepted``: True / ``NoConflicts`` / "no conflicts found", or False
  with the conflict's reason; ``status.acceptedNames`` becomes the requested
  names (with defaults) only when they are accepted, otherwise it keeps what
  it had.
- ``Established``: True / ``InitialNamesAccepted`` once names are accepted;
  False / ``NotAccepted`` before.
- ``Terminating``: True / ``InstanceDeletionInProgress`` while a deleted
  CRD's objects are being removed.
- ``storedVersions`` gains the storage version (never loses one).

A condition's ``lastTransitionTime`` changes only when its status does, so
computing the status again gives the same object and writes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from corral.apiserver.crds.types import accepted_names, storage_version
from corral.apiserver.registry import ResourceType
from corral.apiserver.store.meta import now_rfc3339

Obj = dict[str, Any]
Conflict = tuple[str, str]  # (reason, message)

_CHECKS = (
    ("plural", "PluralConflict"),
    ("singular", "SingularConflict"),
    ("shortNames", "ShortNamesConflict"),
    ("kind", "KindConflict"),
    ("listKind", "ListKindConflict"),
)


def _used_names(rt: ResourceType) -> dict[str, set[str]]:
    return {
        "plural": {rt.resource},
        "singular": {rt.singular},
        "shortNames": set(rt.short_names),
        "kind": {rt.kind},
        "listKind": {rt.list_kind},
    }


def find_conflict(
    crd: Mapping[str, Any], names: Mapping[str, Any], others: Iterable[ResourceType]
) -> Conflict | None:
    """The first conflict of ``names`` with the other served types of the CRD's group."""
    group = str((crd.get("spec") or {}).get("group") or "")
    crd_name = str((crd.get("metadata") or {}).get("name") or "")
    used: dict[str, set[str]] = {field: set() for field, _ in _CHECKS}
    for rt in others:
        if rt.group != group or (rt.custom is not None and rt.custom.crd_name == crd_name):
            continue
        for field, taken in _used_names(rt).items():
            used[field] |= taken
    # A plural or singular also collides with the other's plural/singular/short names.
    resource_names = used["plural"] | used["singular"] | used["shortNames"]
    type_names = used["kind"] | used["listKind"]
    for field, reason in _CHECKS:
        wanted = names.get(field)
        values = [str(v) for v in wanted] if isinstance(wanted, list) else [str(wanted or "")]
        pool = type_names if field in ("kind", "listKind") else resource_names
        for value in values:
            if value and value in pool:
                return reason, f'"{value}" is already in use'
    return None


def _condition(type_: str, status: str, reason: str, message: str) -> Obj:
    return {"type": type_, "status": status, "reason": reason, "message": message}


def set_condition(conditions: list[Obj], new: Obj) -> None:
    """Put ``new`` in ``conditions``, keeping the transition time if the status is the same."""
    for i, old in enumerate(conditions):
        if old.get("type") == new["type"]:
            same = old.get("status") == new["status"]
            new["lastTransitionTime"] = (
                old.get("lastTransitionTime") if same else None
            ) or now_rfc3339()
            conditions[i] = {**new}
            return
    conditions.append({**new, "lastTransitionTime": now_rfc3339()})


def desired_status(crd: Mapping[str, Any], conflict: Conflict | None, terminating: bool) -> Obj:
    """The status ``crd`` should have."""
    status = copy.deepcopy(dict(crd.get("status") or {}))
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    if conflict is None:
        names = accepted_names(crd)
        status["acceptedNames"] = {k: v for k, v in names.items() if v not in (None, "", [])}
        set_condition(
            conditions, _condition("NamesAccepted", "True", "NoConflicts", "no conflicts found")
        )
        set_condition(
            conditions,
            _condition(
                "Established",
                "True",
                "InitialNamesAccepted",
                "the initial names have been accepted",
            ),
        )
    else:
        status.setdefault("acceptedNames", {"plural": "", "kind": ""})
        set_condition(conditions, _condition("NamesAccepted", "False", *conflict))
        if not any(
            c.get("type") == "Established" and c.get("status") == "True" for c in conditions
        ):
            set_condition(
                conditions,
                _condition("Established", "False", "NotAccepted", "not all names are accepted"),
            )
    if terminating:
        set_condition(
            conditions,
            _condition(
                "Terminating",
                "True",
                "InstanceDeletionInProgress",
                "CustomResource deletion is in progress",
            ),
        )
    status["conditions"] = conditions
    stored = list(status.get("storedVersions") or [])
    version = storage_version(crd)
    if version and version not in stored:
        stored.append(version)
    status["storedVersions"] = stored
    return status


def is_established(crd: Mapping[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(
        isinstance(c, Mapping) and c.get("type") == "Established" and c.get("status") == "True"
        for c in conditions
    )
