"""`ResourceType`: everything the server knows about one served resource.

One record per group/version/resource decides how requests for it are
routed (plural, namespaced), what discovery says about it (kind, verbs,
short names, categories, subresources), where its objects are stored (the
storage prefix) and how writes treat it (its `corral.machinery.validation`
`Strategy`: defaults and semantic rules; whether it has a spec that bumps
``metadata.generation``; whether the status subresource splits spec writes
from status writes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.apiserver.registry.convert import Conversion
from corral.machinery.openapi import GVK
from corral.machinery.status import FieldError
from corral.machinery.validation import Strategy

Obj = dict[str, Any]

#: The verbs of an ordinary resource, in discovery's (alphabetical) order.
STANDARD_VERBS: tuple[str, ...] = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)

#: The verbs of a subresource such as ``status`` or ``scale``.
SUBRESOURCE_VERBS: tuple[str, ...] = ("get", "patch", "update")


class NoStrategy:
    """Accepts every object as it is: the `Strategy` of a kind with no rules."""

    def default(self, obj: Obj) -> None:
        pass

    def validate_create(self, obj: Obj) -> list[FieldError]:
        return []

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return []


DEFAULT_STRATEGY: Strategy = NoStrategy()


@dataclass(frozen=True, slots=True)
class CustomInfo:
    """What a served CRD version adds to its `ResourceType` (see `corral.apiserver.crds`)."""

    #: The CRD's ``metadata.name`` (``<plural>.<group>``).
    crd_name: str
    list_kind: str = ""
    #: The version's ``openAPIV3Schema`` (structural); None: anything goes.
    schema: Mapping[str, Any] | None = None
    printer_columns: tuple[Mapping[str, Any], ...] = ()
    spec_replicas_path: str = ""
    status_replicas_path: str = ""
    label_selector_path: str = ""
    #: Warnings sent with every write (rules that are not enforced).
    write_warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResourceType:
    """One served resource of one group-version."""

    group: str
    version: str
    resource: str
    singular: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = STANDARD_VERBS
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    #: The object has a ``spec`` (generation is kept and bumped on its changes).
    has_spec: bool = True
    #: Selector fields beyond metadata.name/namespace: selector name -> object path.
    field_paths: dict[str, str] = field(default_factory=dict)
    #: Storage resource directory when it differs (events.k8s.io events share core's).
    storage_group: str | None = None
    #: Name rule: "subdomain" (DNS-1123), "label" (DNS-1123 label), "label1035"
    #: (DNS-1035 label, Services) or "path" (any path segment, RBAC).
    name_format: str = "subdomain"
    #: DELETE answers with the deleted object instead of a success Status.
    return_deleted_object: bool = False
    #: Objects expire this many seconds after their last write (0: never).
    ttl: int = 0
    strategy: Strategy = DEFAULT_STRATEGY
    #: How served objects map to the stored shape (None: they are the same).
    conversion: Conversion | None = None
    #: Set for a custom resource (a served CRD version).
    custom: CustomInfo | None = None
    #: False for a create-only review kind (SelfSubjectReview…): nothing is stored.
    stored: bool = True

    @property
    def gvk(self) -> GVK:
        return GVK(self.group, self.version, self.kind)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def list_kind(self) -> str:
        if self.custom is not None and self.custom.list_kind:
            return self.custom.list_kind
        return self.kind + "List"

    @property
    def has_status_subresource(self) -> bool:
        return "status" in self.subresources

    @property
    def storage_prefix(self) -> str:
        """``/registry/<group or core>/<resource>/``; every key of the type is under it."""
        group = self.storage_group if self.storage_group is not None else self.group
        return f"/registry/{group or 'core'}/{self.resource}/"

    def key(self, namespace: str, name: str) -> str:
        """The storage key of one object."""
        if self.namespaced:
            return f"{self.storage_prefix}{namespace}/{name}"
        return f"{self.storage_prefix}{name}"

    def collection_prefix(self, namespace: str) -> str:
        """The key prefix of a list (in ``namespace``, or everywhere when it is empty)."""
        if self.namespaced and namespace:
            return f"{self.storage_prefix}{namespace}/"
        return self.storage_prefix

    def selectable_fields(self) -> dict[str, str]:
        """Every field a fieldSelector may name, mapped to the path it reads."""
        fields = {"metadata.name": "metadata.name"}
        if self.namespaced:
            fields["metadata.namespace"] = "metadata.namespace"
        fields.update(self.field_paths)
        return fields
