"""What the OpenAPI documents describe: the resources a server serves.

The API core maps its registry (built-in kinds and CRDs) onto these small
records; the document builders need nothing else. Keeping them here keeps this
subpackage free of any dependency on the API server.
"""

from __future__ import annotations

from dataclasses import dataclass

from corral.machinery.openapi.definitions import GVK

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Subresource:
    """A subresource such as ``status`` or ``scale``.

    ``kind`` is what it reads and writes (the parent's kind for ``status``,
    ``autoscaling/v1 Scale`` for ``scale``); ``verbs`` uses the resource verbs:
    ``get``, ``update`` (PUT), ``patch``, ``create`` (POST).
    """

    name: str
    kind: GVK | None = None
    verbs: tuple[str, ...] = ("get", "patch", "update")


@dataclass(frozen=True)
class ServedResource:
    """One resource of one group-version as the server serves it."""

    group: str
    version: str
    kind: str
    resource: str
    namespaced: bool
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[Subresource, ...] = ()
    strategic_merge_patch: bool = True  # False for CRDs, which do not support it

    @property
    def gvk(self) -> GVK:
        return GVK(self.group, self.version, self.kind)

    @property
    def list_gvk(self) -> GVK:
        return GVK(self.group, self.version, self.kind + "List")

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def root(self) -> str:
        """The URL prefix, ``/api/v1`` or ``/apis/<group>/<version>``."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    @property
    def document_path(self) -> str:
        """The key in the ``/openapi/v3`` index: ``api/v1``, ``apis/apps/v1``."""
        return self.root.lstrip("/")


STATUS = "status"


def status_of(resource: ServedResource) -> Subresource:
    """The ``status`` subresource of a resource, reading and writing its own kind."""
    return Subresource(STATUS, resource.gvk)


def scale() -> Subresource:
    """The ``scale`` subresource (``autoscaling/v1 Scale``)."""
    return Subresource("scale", GVK("autoscaling", "v1", "Scale"))
