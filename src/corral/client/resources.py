"""`ResourceRef` (a group-version-resource and its scope) and the REST paths it names.

Kubernetes addresses every object by path: the legacy core group lives
under ``/api/v1``, every other group under ``/apis/<group>/<version>``;
a namespaced resource adds ``/namespaces/<ns>``; then the resource, the
name, and a subresource (``status``, ``scale``…). The client never
concatenates paths by hand anywhere else. Names and namespaces are
percent-encoded so a bad one cannot escape its path segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """A resource of one API group version, e.g. ``ResourceRef("apps", "v1", "deployments")``."""

    group: str
    version: str
    resource: str
    namespaced: bool = True
    kind: str = ""

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, else ``<group>/<version>``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def prefix(self) -> str:
        """The group-version path: ``/api/v1`` or ``/apis/<group>/<version>``."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def path(self, namespace: str = "", name: str = "", subresource: str = "") -> str:
        """The path of the collection (no ``name``), an object, or its ``subresource``.

        ``namespace`` is ignored for cluster-scoped resources; for a namespaced
        one, an empty ``namespace`` names the collection across all namespaces.
        """
        parts = [self.prefix]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{_segment(namespace)}")
        parts.append(self.resource)
        if name:
            parts.append(_segment(name))
            if subresource:
                parts.append(_segment(subresource))
        elif subresource:
            raise ValueError("a subresource needs an object name")
        return "/".join(parts)

    def __str__(self) -> str:
        return (
            f"{self.resource}.{self.version}.{self.group}"
            if self.group
            else (f"{self.resource}.{self.version}")
        )


def _segment(value: str) -> str:
    if not value or value in {".", ".."}:
        raise ValueError(f"invalid path segment {value!r}")
    return quote(value, safe="")
