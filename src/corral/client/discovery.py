"""Discovery: which resource serves a kind, from the server's ``/api`` and ``/apis``.

A caller holding a manifest knows ``apiVersion`` and ``kind``; the REST path
needs the plural resource name and whether it is namespaced. Discovery asks
the server, as kubectl does: ``/api`` and ``/apis`` list the group versions
(with each group's preferred version), ``/api/v1`` and ``/apis/<g>/<v>``
list their resources. Answers are cached per client; a miss refreshes the
cache once before giving up with `NoMatchError` (a CRD may have just been
created), and `invalidate` drops everything. Subresources (``pods/status``)
are never the answer for a kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from corral.client.errors import NoMatchError
from corral.client.resources import ResourceRef
from corral.machinery.status import NotFound

GetJSON = Callable[[str], Awaitable[dict[str, Any]]]


def _split(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


class Discovery:
    """A caching view of one server's discovery documents."""

    def __init__(self, get_json: GetJSON) -> None:
        self._get = get_json
        self._preferred: dict[str, str] | None = None
        self._resources: dict[str, list[ResourceRef]] = {}

    def invalidate(self) -> None:
        """Forget everything learnt; the next question asks the server again."""
        self._preferred = None
        self._resources.clear()

    async def preferred_versions(self) -> dict[str, str]:
        """Group name (``""`` for core) → its preferred ``apiVersion``."""
        if self._preferred is None:
            core = await self._get("/api")
            groups = await self._get("/apis")
            preferred = {"": str((core.get("versions") or ["v1"])[0])}
            for group in groups.get("groups") or []:
                pref = group.get("preferredVersion") or (group.get("versions") or [{}])[0]
                if isinstance(pref, Mapping) and pref.get("groupVersion"):
                    preferred[str(group.get("name", ""))] = str(pref["groupVersion"])
            self._preferred = preferred
        return self._preferred

    async def resources(self, api_version: str) -> list[ResourceRef]:
        """The top-level resources (no subresources) of one group version."""
        if api_version not in self._resources:
            group, version = _split(api_version)
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            try:
                doc = await self._get(path)
            except NotFound:
                raise NoMatchError(f"the server does not serve {api_version}") from None
            self._resources[api_version] = [
                ResourceRef(
                    group,
                    version,
                    str(r["name"]),
                    namespaced=bool(r.get("namespaced")),
                    kind=str(r.get("kind", "")),
                )
                for r in doc.get("resources") or []
                if isinstance(r, Mapping) and "/" not in str(r.get("name", "/"))
            ]
        return self._resources[api_version]

    async def resolve(self, kind: str, api_version: str | None = None) -> ResourceRef:
        """The resource serving ``kind`` in ``api_version`` (default: any group's preferred one)."""
        for attempt in range(2):
            found = await self._find(lambda r: r.kind == kind, api_version)
            if found is not None:
                return found
            if attempt == 0:
                self.invalidate()
        where = f"version {api_version!r}" if api_version else "any preferred version"
        raise NoMatchError(f'no matches for kind "{kind}" in {where}')

    async def resolve_resource(self, resource: str, api_version: str) -> ResourceRef:
        """The `ResourceRef` of a plural ``resource`` name in ``api_version``."""
        for attempt in range(2):
            found = await self._find(lambda r: r.resource == resource, api_version)
            if found is not None:
                return found
            if attempt == 0:
                self.invalidate()
        raise NoMatchError(f'the server has no resource "{resource}" in {api_version!r}')

    async def for_object(self, obj: Mapping[str, Any]) -> ResourceRef:
        """The resource of a manifest, from its ``apiVersion`` and ``kind``."""
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not kind:
            raise NoMatchError("the object has no apiVersion and kind")
        return await self.resolve(kind, api_version)

    async def _find(
        self, match: Callable[[ResourceRef], bool], api_version: str | None
    ) -> ResourceRef | None:
        if api_version:
            versions = [api_version]
        else:
            preferred = await self.preferred_versions()
            versions = [preferred[""], *(v for g, v in preferred.items() if g)]
        for version in versions:
            try:
                refs = await self.resources(version)
            except NoMatchError:
                if api_version:
                    return None
                continue
            for ref in refs:
                if match(ref):
                    return ref
        return None
