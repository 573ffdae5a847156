"""Where strategic merge patch learns how each field of a built-in kind merges.

Kubernetes keeps this in Go struct tags (`patchStrategy`, `patchMergeKey`),
published in OpenAPI as `x-kubernetes-patch-strategy` and
`x-kubernetes-patch-merge-key`. Corral keeps it as data: `PatchMeta` is the
lookup the patch code asks ("how does the field at this path merge?"), and
`TablePatchMeta` answers from a table keyed by field paths. Built-in kinds are
answered per kind from the OpenAPI schemas (`schema_meta`); the table below,
covering the fields kubectl users patch most in core/v1, apps/v1 and batch/v1,
is the fallback for documents whose kind the schemas do not describe.

Paths are tuples of field names from the object's root; list elements add no
segment, so a container's env is ``("spec", "containers", "env")``. The table
is kind-agnostic: a path means the same wherever it occurs (``spec.ports`` is a
Service's ports; no other built-in kind has that path). A field the table does
not know has no strategy: maps merge, lists are replaced whole.

The names of the patch format's directives (``$patch`` and friends) live here
too, as the vocabulary shared by applying and computing patches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, Protocol, TypeAlias

__all__ = [
    "BUILTIN_PATCH_META",
    "DELETE_FROM_PRIMITIVE_LIST",
    "PATCH",
    "RETAIN_KEYS",
    "SET_ELEMENT_ORDER",
    "FieldPatchMeta",
    "ListKind",
    "PatchMeta",
    "TablePatchMeta",
    "field_path",
]

# The directives of the strategic merge patch format.
PATCH: Final = "$patch"
RETAIN_KEYS: Final = "$retainKeys"
SET_ELEMENT_ORDER: Final = "$setElementOrder/"
DELETE_FROM_PRIMITIVE_LIST: Final = "$deleteFromPrimitiveList/"

ListKind: TypeAlias = Literal["map", "primitive"]

_STRATEGIES = frozenset({"merge", "replace", "retainKeys"})


@dataclass(frozen=True, slots=True)
class FieldPatchMeta:
    """How one field merges: its patch strategies, merge key and list element kind.

    `strategies` is the parsed `patchStrategy` tag ("merge,retainKeys" becomes
    {"merge", "retainKeys"}); an empty set is the default (maps merge, lists
    are replaced). `list_kind` says whether a list holds maps or primitives,
    which matters when a list is empty and cannot tell for itself.
    """

    strategies: frozenset[str] = frozenset()
    merge_key: str | None = None
    list_kind: ListKind | None = None

    @classmethod
    def parse(
        cls, strategy: str = "", merge_key: str | None = None, list_kind: ListKind | None = None
    ) -> FieldPatchMeta:
        """Build from tag syntax, e.g. ``parse("merge,retainKeys", "name", "map")``.

        A strategy that does not exist is a `ValueError`: it is a fault in the
        table (or schema) being loaded, not in any patch.
        """
        strategies = frozenset(s.strip() for s in strategy.split(",") if s.strip())
        unknown = strategies - _STRATEGIES
        if unknown:
            raise ValueError(f"unknown patch strategy {', '.join(sorted(unknown))!r}")
        if "merge" in strategies and "replace" in strategies:
            raise ValueError('patch strategies "merge" and "replace" exclude each other')
        if merge_key is not None and list_kind is None:
            list_kind = "map"
        return cls(strategies=strategies, merge_key=merge_key, list_kind=list_kind)

    @property
    def merge(self) -> bool:
        """Lists merge element-wise (by merge key, or as a set of primitives)."""
        return "merge" in self.strategies

    @property
    def replace(self) -> bool:
        """The value is replaced whole, even a map."""
        return "replace" in self.strategies

    @property
    def retain_keys(self) -> bool:
        """The map (or each element of the list) is a union: keys not kept are cleared."""
        return "retainKeys" in self.strategies


def field_path(path: tuple[str, ...]) -> str:
    """A field path as users write it in messages: "spec.template.spec.containers"."""
    return ".".join(path) or "the object root"


class PatchMeta(Protocol):
    """Answers how the field at `path` merges, or None when nothing special is known."""

    def lookup(self, path: tuple[str, ...]) -> FieldPatchMeta | None: ...


class TablePatchMeta:
    """A `PatchMeta` backed by a table from dotted field paths to `FieldPatchMeta`."""

    def __init__(self, table: Mapping[str, FieldPatchMeta]) -> None:
        self._table = {tuple(path.split(".")): meta for path, meta in table.items()}

    def lookup(self, path: tuple[str, ...]) -> FieldPatchMeta | None:
        return self._table.get(path)

    def __len__(self) -> int:
        return len(self._table)


# --- the built-in table --------------------------------------------------------------------
# (patchStrategy, patchMergeKey, list kind) as in the k8s.io/api Go struct tags. Entries with
# an empty strategy have no tag upstream and are listed because users often expect them to
# merge: they are replaced whole (tolerations is the example in the kubectl patch docs).

_Tag: TypeAlias = tuple[str, str | None, ListKind | None]

_CONTAINER: dict[str, _Tag] = {
    "ports": ("merge", "containerPort", "map"),
    "env": ("merge", "name", "map"),
    "volumeMounts": ("merge", "mountPath", "map"),
    "volumeDevices": ("merge", "devicePath", "map"),
    "envFrom": ("", None, "map"),
    "resizePolicy": ("", None, "map"),
}

_POD_SPEC: dict[str, _Tag] = {
    "volumes": ("merge,retainKeys", "name", "map"),
    "containers": ("merge", "name", "map"),
    "initContainers": ("merge", "name", "map"),
    "ephemeralContainers": ("merge", "name", "map"),
    "imagePullSecrets": ("merge", "name", "map"),
    "hostAliases": ("merge", "ip", "map"),
    "topologySpreadConstraints": ("merge", "topologyKey", "map"),
    "schedulingGates": ("merge", "name", "map"),
    "resourceClaims": ("merge,retainKeys", "name", "map"),
    "tolerations": ("", None, "map"),
    "readinessGates": ("", None, "map"),
}

_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")

# Where a PodSpec sits: Pod; PodTemplate; Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,
# ReplicationController; CronJob.
_POD_SPEC_AT = (
    "spec",
    "template.spec",
    "spec.template.spec",
    "spec.jobTemplate.spec.template.spec",
)

_OTHER: dict[str, _Tag] = {
    # ObjectMeta, every kind
    "metadata.finalizers": ("merge", None, "primitive"),
    "metadata.ownerReferences": ("merge", "uid", "map"),
    # status conditions: Pod, Node, Namespace, PersistentVolumeClaim, ReplicationController,
    # Service, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job
    "status.conditions": ("merge", "type", "map"),
    # Pod status
    "status.podIPs": ("merge", "ip", "map"),
    "status.hostIPs": ("merge", "ip", "map"),
    # Node
    "spec.podCIDRs": ("merge", None, "primitive"),
    "spec.taints": ("", None, "map"),
    "status.addresses": ("merge", "type", "map"),
    # Service
    "spec.ports": ("merge", "port", "map"),
    # ServiceAccount
    "secrets": ("merge", "name", "map"),
    # Deployment: a union of "type" and "rollingUpdate"
    "spec.strategy": ("retainKeys", None, None),
}


def _pod_spec_paths() -> Iterable[tuple[str, _Tag]]:
    for at in _POD_SPEC_AT:
        for field, tag in _POD_SPEC.items():
            yield f"{at}.{field}", tag
        for containers in _CONTAINER_LISTS:
            for field, tag in _CONTAINER.items():
                yield f"{at}.{containers}.{field}", tag


BUILTIN_PATCH_META = TablePatchMeta(
    {path: FieldPatchMeta.parse(*tag) for path, tag in (*_pod_spec_paths(), *_OTHER.items())}
)
"""Patch metadata for the built-in kinds most often patched (core/v1, apps/v1, batch/v1)."""
