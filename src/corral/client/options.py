"""Request options: patch types, delete options, and how keyword options become a query.

The client's methods take Python keywords (``label_selector=``,
``dry_run=``…); this module decides their wire form once: camelCase query
parameters, ``dryRun=All``, booleans as ``true``/``false``, options left
out when not given (so the server's defaults apply). It also decides, for
the retry rules, whether a write carries a resourceVersion precondition.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class PatchType(StrEnum):
    """The Content-Type of a PATCH, which is what selects the patch semantics."""

    JSON = "application/json-patch+json"
    MERGE = "application/merge-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"


class PropagationPolicy(StrEnum):
    """What happens to an object's dependents when it is deleted."""

    ORPHAN = "Orphan"
    BACKGROUND = "Background"
    FOREGROUND = "Foreground"


@dataclass(frozen=True, slots=True)
class Preconditions:
    """Delete only if the object still has this uid and/or resourceVersion."""

    uid: str | None = None
    resource_version: str | None = None

    def to_dict(self) -> dict[str, str]:
        out = {}
        if self.uid:
            out["uid"] = self.uid
        if self.resource_version:
            out["resourceVersion"] = self.resource_version
        return out


def query(**options: Any) -> list[tuple[str, str]]:
    """``snake_case=value`` options as query pairs; None and False-y flags are left out."""
    pairs: list[tuple[str, str]] = []
    for key, value in options.items():
        if value is None or value is False:
            continue
        name = _camel(key.rstrip("_"))
        if name == "dryRun":
            value = "All"
        if isinstance(value, bool):
            value = "true"
        pairs.append((name, str(value)))
    return pairs


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def delete_options(
    *,
    propagation_policy: str | None,
    grace_period_seconds: int | None,
    preconditions: Preconditions | None,
    dry_run: bool,
) -> dict[str, Any] | None:
    """The ``DeleteOptions`` body, or None when every option is the default."""
    body: dict[str, Any] = {}
    if propagation_policy:
        body["propagationPolicy"] = str(propagation_policy)
    if grace_period_seconds is not None:
        body["gracePeriodSeconds"] = grace_period_seconds
    if preconditions is not None and preconditions.to_dict():
        body["preconditions"] = preconditions.to_dict()
    if dry_run:
        body["dryRun"] = ["All"]
    if not body:
        return None
    return {"kind": "DeleteOptions", "apiVersion": "v1", **body}


def has_resource_version(obj: Any) -> bool:
    """True when an object or merge-style patch pins ``metadata.resourceVersion``."""
    meta = obj.get("metadata") if isinstance(obj, Mapping) else None
    return isinstance(meta, Mapping) and bool(meta.get("resourceVersion"))


def json_patch_tests_resource_version(patch: Any) -> bool:
    """True when a JSON patch tests ``/metadata/resourceVersion`` (a precondition)."""
    return isinstance(patch, list) and any(
        isinstance(op, Mapping)
        and op.get("op") == "test"
        and op.get("path") == "/metadata/resourceVersion"
        for op in patch
    )
