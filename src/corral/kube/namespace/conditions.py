"""The five conditions a terminating Namespace reports, written as Kubernetes writes them.

``kubectl describe namespace`` (and anyone waiting on a namespace that will
not go away) reads why from ``status.conditions``: discovery or parsing
failures, resource types whose deletion failed, what content remains, and
which finalizers hold it. Kubernetes' namespace deleter always writes all
five types: a failure as ``True`` with its own reason and message, otherwise
the "ok" variant as ``False``; ``lastTransitionTime`` moves only when the
status flips. Same texts here, so tools matching on them keep working.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from corral.client import ResourceRef
from corral.controller.conditions import format_time

DISCOVERY_FAILURE = "NamespaceDeletionDiscoveryFailure"
GV_PARSING_FAILURE = "NamespaceDeletionGroupVersionParsingFailure"
CONTENT_FAILURE = "NamespaceDeletionContentFailure"
CONTENT_REMAINING = "NamespaceContentRemaining"
FINALIZERS_REMAINING = "NamespaceFinalizersRemaining"

CONDITION_TYPES = (
    DISCOVERY_FAILURE,
    GV_PARSING_FAILURE,
    CONTENT_FAILURE,
    CONTENT_REMAINING,
    FINALIZERS_REMAINING,
)

_OK: dict[str, tuple[str, str]] = {
    DISCOVERY_FAILURE: ("ResourcesDiscovered", "All resources successfully discovered"),
    GV_PARSING_FAILURE: ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
    CONTENT_FAILURE: (
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
    ),
    CONTENT_REMAINING: ("ContentRemoved", "All content successfully removed"),
    FINALIZERS_REMAINING: ("ContentRemoved", "All content successfully removed"),
}


def _condition(type_: str, status: str, reason: str, message: str, now: str) -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


@dataclass(slots=True)
class ConditionUpdater:
    """Collects what one deletion pass found; `update` writes it into a namespace."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    failures: dict[str, tuple[str, str]] = field(default_factory=dict)
    content_errors: list[str] = field(default_factory=list)

    def discovery_failed(self, message: str) -> None:
        self.failures[DISCOVERY_FAILURE] = ("DiscoveryFailed", message)

    def group_version_failed(self, message: str) -> None:
        self.failures[GV_PARSING_FAILURE] = ("GroupVersionParsingFailed", message)

    def content_failed(self, message: str) -> None:
        self.content_errors.append(message)

    def content_totals(
        self, remaining: Mapping[ResourceRef, int], finalizers: Mapping[str, int]
    ) -> None:
        """Record what is left: instances per resource, and per finalizer holding them."""
        parts = sorted(
            f"{ref.resource}.{ref.group} has {count} resource instances"
            for ref, count in remaining.items()
            if count
        )
        if parts:
            self.failures[CONTENT_REMAINING] = (
                "SomeResourcesRemain",
                f"Some resources are remaining: {', '.join(parts)}",
            )
        held = sorted(
            f"{name} in {count} resource instances" for name, count in finalizers.items() if count
        )
        if held:
            self.failures[FINALIZERS_REMAINING] = (
                "SomeFinalizerRemain",
                f"Some finalizers are remaining: {', '.join(held)}",
            )

    def update(self, namespace: dict[str, Any]) -> bool:
        """Write all five conditions into ``namespace``; whether anything changed."""
        if self.content_errors and CONTENT_FAILURE not in self.failures:
            errors = sorted(self.content_errors)
            self.failures[CONTENT_FAILURE] = (
                "ContentDeletionFailed",
                f"Failed to delete all resource types, {len(errors)} remaining: "
                + ", ".join(errors),
            )
        status = namespace.setdefault("status", {})
        conditions: list[dict[str, Any]] = status.setdefault("conditions", [])
        stamp = format_time(self.now)
        changed = False
        for type_ in CONDITION_TYPES:
            if type_ in self.failures:
                wanted = ("True", *self.failures[type_])
            else:
                wanted = ("False", *_OK[type_])
            old = next((c for c in conditions if c.get("type") == type_), None)
            if old is None:
                conditions.append(_condition(type_, *wanted, stamp))
                changed = True
            elif (old.get("status"), old.get("reason"), old.get("message")) != wanted:
                if old.get("status") != wanted[0]:
                    old["lastTransitionTime"] = stamp
                old["status"], old["reason"], old["message"] = wanted
                changed = True
        return changed
