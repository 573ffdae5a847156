"""The resource registry: which resources are served, and how to find one.

`Registry` indexes `ResourceType` records by group/version/resource (the
request path) and groups them for discovery. Built-in kinds come from
`builtin_types`; CRDs will add records here later.
"""

from __future__ import annotations

from collections.abc import Iterable

from corral.apiserver.registry.builtin import builtin_types
from corral.apiserver.registry.types import (
    DEFAULT_STRATEGY,
    STANDARD_VERBS,
    SUBRESOURCE_VERBS,
    Obj,
    ResourceType,
)
from corral.machinery.validation import Strategy

#: Subresources the generic handlers serve; others are not advertised yet.
SERVED_SUBRESOURCES = frozenset({"status", "scale", "finalize"})

#: Verbs of each served subresource.
SUBRESOURCE_VERB_TABLE: dict[str, tuple[str, ...]] = {
    "status": SUBRESOURCE_VERBS,
    "scale": SUBRESOURCE_VERBS,
    "finalize": ("update",),
}


class Registry:
    """Served resource types, by path and by group."""

    def __init__(self, types: Iterable[ResourceType]) -> None:
        self._types: list[ResourceType] = list(types)
        self._by_gvr = {(t.group, t.version, t.resource): t for t in self._types}

    @classmethod
    def builtin(cls) -> Registry:
        return cls(builtin_types())

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
        return list(dict.fromkeys(t.storage_prefix for t in self._types))


__all__ = [
    "DEFAULT_STRATEGY",
    "SERVED_SUBRESOURCES",
    "STANDARD_VERBS",
    "SUBRESOURCE_VERBS",
    "SUBRESOURCE_VERB_TABLE",
    "Obj",
    "Registry",
    "ResourceType",
    "Strategy",
]
