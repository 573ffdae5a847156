"""Every resource the server serves, with its verbs, read from the discovery documents.

The namespace controller must empty a namespace of *every* namespaced
resource, and the garbage collector must watch every resource that can be an
owner or a dependent, custom resources included; neither can use a fixed
list. Both ask the server, as client-go's ``ServerPreferredResources`` does:
``/api`` and ``/apis`` name the group versions, and each group's preferred
version document lists its resources and their verbs (`corral.client`'s
`Discovery` keeps no verbs, so this reads the documents itself).

A group whose document cannot be read does not stop the others: it is
reported in `Discovered.failed` (the namespace controller turns that into
its ``NamespaceDeletionDiscoveryFailure`` condition), and so is a group
version that cannot be parsed (``NamespaceDeletionGroupVersionParsingFailure``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.client import Client, ClientError, ResourceRef
from corral.machinery.status import StatusError


@dataclass(frozen=True, slots=True)
class APIResource:
    """A top-level resource of a group's preferred version, and what it supports."""

    ref: ResourceRef
    verbs: frozenset[str]

    def supports(self, *verbs: str) -> bool:
        return all(v in self.verbs for v in verbs)


@dataclass(slots=True)
class Discovered:
    """What discovery found, and what it could not read or parse."""

    resources: list[APIResource] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """Group version → why its document could not be read."""
    unparsable: list[str] = field(default_factory=list)
    """Group versions whose name is not ``version`` or ``group/version``."""

    def failure_message(self) -> str:
        """client-go's ``ErrGroupDiscoveryFailed`` text."""
        groups = ", ".join(sorted(f"{gv}: {why}" for gv, why in self.failed.items()))
        return f"unable to retrieve the complete list of server APIs: {groups}"

    def parsing_message(self) -> str:
        return ", ".join(f"unexpected GroupVersion string: {gv}" for gv in sorted(self.unparsable))


def parse_group_version(text: str) -> tuple[str, str] | None:
    """``(group, version)`` of ``v1`` or ``apps/v1``; None if it is neither."""
    parts = text.split("/")
    if len(parts) == 1 and parts[0]:
        return "", parts[0]
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1]
    return None


def _preferred(core: Mapping[str, Any], groups: Mapping[str, Any]) -> list[str]:
    versions = [str(v) for v in (core.get("versions") or [])[:1]]
    for group in groups.get("groups") or []:
        if not isinstance(group, Mapping):
            continue
        pref = group.get("preferredVersion") or (group.get("versions") or [{}])[0]
        if isinstance(pref, Mapping) and pref.get("groupVersion"):
            versions.append(str(pref["groupVersion"]))
    return versions


async def discover(client: Client) -> Discovered:
    """The resources of every group's preferred version (raises if ``/api`` or ``/apis`` fail)."""
    core, groups = await asyncio.gather(client.get_path("/api"), client.get_path("/apis"))
    found = Discovered()
    wanted: list[tuple[str, str, str]] = []
    for gv in _preferred(core, groups):
        parsed = parse_group_version(gv)
        if parsed is None:
            found.unparsable.append(gv)
        else:
            wanted.append((gv, *parsed))

    async def read(gv: str, group: str, version: str) -> None:
        path = f"/apis/{gv}" if group else f"/api/{version}"
        try:
            doc = await client.get_path(path)
        except (StatusError, ClientError) as exc:
            found.failed[gv] = str(exc) or type(exc).__name__
            return
        for entry in doc.get("resources") or []:
            if not isinstance(entry, Mapping):
                continue
            name = str(entry.get("name") or "")
            if not name or "/" in name:
                continue  # subresources
            ref = ResourceRef(
                group,
                version,
                name,
                namespaced=bool(entry.get("namespaced")),
                kind=str(entry.get("kind") or ""),
            )
            verbs = frozenset(str(v) for v in entry.get("verbs") or [])
            found.resources.append(APIResource(ref, verbs))

    await asyncio.gather(*(read(*w) for w in wanted))
    found.resources.sort(key=lambda r: (r.ref.group, r.ref.resource))
    return found
