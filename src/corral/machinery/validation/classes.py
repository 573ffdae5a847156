"""PriorityClasses and StorageClasses: their defaults and what may never change.

Both are cluster-wide settings other objects point at by name, so Kubernetes
fixes their meaning once created (``pkg/apis/scheduling/validation``,
``pkg/apis/storage/validation``), and so does Corral:

- a PriorityClass's ``preemptionPolicy`` defaults to ``PreemptLowerPriority``;
  a user-defined ``value`` is at most 1,000,000,000, and names starting with
  ``system-`` are reserved for the two system classes; on update ``value`` is
  forbidden to change and ``preemptionPolicy`` is immutable;
- a StorageClass's ``reclaimPolicy`` defaults to ``Delete`` and its
  ``volumeBindingMode`` to ``Immediate``; on update ``parameters``,
  ``provisioner`` and ``reclaimPolicy`` are forbidden to change and
  ``volumeBindingMode`` is immutable.

Types, required fields and enums come from the OpenAPI schemas, not from here.
"""

from __future__ import annotations

from corral.machinery.status import FieldError
from corral.machinery.validation.common import Obj, immutable, is_int, mapping, text

HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000
SYSTEM_PRIORITY_CLASS_PREFIX = "system-"
#: The classes Kubernetes itself defines, with the only value each may have.
SYSTEM_PRIORITY_CLASSES = {
    "system-cluster-critical": 2_000_000_000,
    "system-node-critical": 2_000_001_000,
}


def default_priority_class(obj: Obj) -> None:
    obj.setdefault("preemptionPolicy", "PreemptLowerPriority")


def validate_priority_class(obj: Obj) -> list[FieldError]:
    name = text(mapping(obj.get("metadata")).get("name"))
    value = obj.get("value")
    if name.startswith(SYSTEM_PRIORITY_CLASS_PREFIX):
        if SYSTEM_PRIORITY_CLASSES.get(name) != value:
            return [
                FieldError.forbidden(
                    "metadata.name",
                    f"priority class names with '{SYSTEM_PRIORITY_CLASS_PREFIX}' prefix "
                    "are reserved for system use only.",
                )
            ]
        return []
    if is_int(value) and value > HIGHEST_USER_DEFINABLE_PRIORITY:
        return [
            FieldError.forbidden(
                "value",
                "maximum allowed value of a user defined priority is "
                f"{HIGHEST_USER_DEFINABLE_PRIORITY}",
            )
        ]
    return []


def validate_priority_class_update(new: Obj, old: Obj) -> list[FieldError]:
    errors = []
    if new.get("value") != old.get("value"):
        errors.append(FieldError.forbidden("value", "may not be changed in an update."))
    errors.extend(
        immutable(new.get("preemptionPolicy"), old.get("preemptionPolicy"), "preemptionPolicy")
    )
    return errors


def default_storage_class(obj: Obj) -> None:
    obj.setdefault("reclaimPolicy", "Delete")
    obj.setdefault("volumeBindingMode", "Immediate")


def validate_storage_class_update(new: Obj, old: Obj) -> list[FieldError]:
    errors = []
    for field in ("parameters", "provisioner", "reclaimPolicy"):
        if new.get(field) != old.get(field):
            errors.append(FieldError.forbidden(field, f"updates to {field} are forbidden."))
    errors.extend(
        immutable(new.get("volumeBindingMode"), old.get("volumeBindingMode"), "volumeBindingMode")
    )
    return errors
