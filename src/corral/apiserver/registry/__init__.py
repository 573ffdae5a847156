"""The resource registry: which resources are served, and how to find one.

`Registry` indexes `ResourceType` records by group/version/resource (the
request path) and groups them for discovery. Built-in kinds come from
`builtin_types`; each served CRD adds one record per served version
(`set_custom`) and takes them away again (`remove_custom`), so the registry
changes at run time: callers look types up per request and never keep the
list. Within a group, CRD versions are listed by Kubernetes' version
priority (GA before beta before alpha, higher numbers first), which also
decides the preferred version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from corral.apiserver.registry.builtin import EVENT_TTL, builtin_types
from corral.apiserver.registry.types import (
    DEFAULT_STRATEGY,
    STANDARD_VERBS,
    SUBRESOURCE_VERBS,
    CustomInfo,
    Obj,
    ResourceType,
)
from corral.machinery.validation import Strategy

#: Subresources the generic handlers serve; others are not advertised yet.
SERVED_SUBRESOURCES = frozenset(
    {
        "status",
        "scale",
        "finalize",
        "log",
        "exec",
        "attach",
        "portforward",
        "token",
        "eviction",
        "binding",
    }
)

#: Verbs of each served subresource.
SUBRESOURCE_VERB_TABLE: dict[str, tuple[str, ...]] = {
    "status": SUBRESOURCE_VERBS,
    "scale": SUBRESOURCE_VERBS,
    "finalize": ("update",),
    # Pods: served by `corral.apiserver.podconnect` (through the pod's node).
    "log": ("get",),
    "exec": ("create", "get"),
    "attach": ("create", "get"),
    "portforward": ("create", "get"),
    # serviceaccounts/token: `corral.apiserver.handlers.tokenrequest`.
    "token": ("create",),
    # pods/eviction: `corral.apiserver.handlers.eviction`.
    "eviction": ("create",),
    # pods/binding: `corral.apiserver.handlers.binding`.
    "binding": ("create",),
}


class Registry:
    """Served resource types, by path and by group."""

    def __init__(self, types: Iterable[ResourceType]) -> None:
        self._builtin: list[ResourceType] = list(types)
        self._custom: dict[str, list[ResourceType]] = {}
        self._types: list[ResourceType] = []
        self._by_gvr: dict[tuple[str, str, str], ResourceType] = {}
        self._rebuild()

    def _rebuild(self) -> None:
        custom = [t for types in self._custom.values() for t in types]
        custom.sort(key=lambda t: (t.group, version_priority(t.version), t.resource))
        self._types = self._builtin + custom
        self._by_gvr = {(t.group, t.version, t.resource): t for t in self._types}

    def set_custom(self, crd_name: str, types: Iterable[ResourceType]) -> None:
        """Serve ``types`` for CRD ``crd_name`` (replacing what it served before)."""
        self._custom[crd_name] = list(types)
        self._rebuild()

    def remove_custom(self, crd_name: str) -> None:
        """Stop serving CRD ``crd_name``."""
        if self._custom.pop(crd_name, None) is not None:
            self._rebuild()

    def custom(self, crd_name: str) -> list[ResourceType]:
        return list(self._custom.get(crd_name, ()))

    def builtin_types(self) -> list[ResourceType]:
        return list(self._builtin)

    @classmethod
    def builtin(cls, event_ttl: int = EVENT_TTL) -> Registry:
        return cls(builtin_types(event_ttl))

    def lookup(self, group: str, version: str, resource: str) -> ResourceType | None:
        return self._by_gvr.get((group, version, resource))

    def types(self) -> list[ResourceType]:
        return list(self._types)

    def groups(self) -> dict[str, list[str]]:
        """Group name -> its versions (preferred first); the core group is ``""``."""
        out: dict[str, list[str]] = {}
        for t in self._types:
            versions = out.setdefault(t.group, [])
            if t.version not in versions:
                versions.append(t.version)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self._types if t.group == group and t.version == version]

    def storage_prefixes(self) -> list[str]:
        """Every distinct storage prefix (types sharing storage share one)."""
        return list(dict.fromkeys(t.storage_prefix for t in self._types if t.stored))


_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key: v2 < v1 < v1beta2 < v1beta1 < v1alpha1 < others (alphabetical)."""
    match = _VERSION.match(version)
    if match is None:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0), version)


__all__ = [
    "DEFAULT_STRATEGY",
    "EVENT_TTL",
    "SERVED_SUBRESOURCES",
    "STANDARD_VERBS",
    "SUBRESOURCE_VERBS",
    "SUBRESOURCE_VERB_TABLE",
    "CustomInfo",
    "Obj",
    "Registry",
    "ResourceType",
    "Strategy",
    "version_priority",
]
