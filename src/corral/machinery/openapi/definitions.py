"""The built-in Kubernetes 1.32 schemas: loaded from package data once, on first use.

The definitions (``components.schemas`` of kube-apiserver 1.32, extracted by
``scripts/extract-openapi.py`` from a pinned PyPI package, see docs/openapi.md)
are a gzip-compressed JSON file next to this module. Reading them takes tens of
milliseconds, so nothing reads them at import: :func:`builtin_definitions` loads
them on first call, under a lock so that concurrent first calls load once, and
:func:`preload_in_background` lets a server warm them in a thread off its start
path.

A :class:`Definitions` is also the ``$ref`` resolver the validator uses: refs
look like ``#/components/schemas/<name>`` (OpenAPI v3); ``#/definitions/<name>``
(v2) resolves too. CRD schemas are added with :meth:`Definitions.with_schemas`,
which returns a new set and leaves the shared built-in one untouched.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, NamedTuple

import orjson

from corral.machinery.openapi.errors import DefinitionsUnavailable, SchemaNotFound

DATA_FILE = "kubernetes-1.32.json.gz"
V3_PREFIX = "#/components/schemas/"
V2_PREFIX = "#/definitions/"
GVK_EXTENSION = "x-kubernetes-group-version-kind"

Schema = Mapping[str, Any]


class GVK(NamedTuple):
    """A group-version-kind; the core group is ``""``."""

    group: str
    version: str
    kind: str

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def ref_name(ref: str) -> str:
    """The definition name a ``$ref`` points at."""
    for prefix in (V3_PREFIX, V2_PREFIX):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    raise SchemaNotFound(f"unsupported $ref {ref!r}")


@dataclass(frozen=True)
class Definitions:
    """Named schemas plus the index from each GVK to the schema that describes it."""

    schemas: Mapping[str, Schema]
    kubernetes_version: str = ""
    source: str = ""
    by_gvk: dict[GVK, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.by_gvk:
            self.by_gvk.update(_index(self.schemas))

    def resolve(self, ref: str) -> Schema:
        """The schema a ``$ref`` names; :class:`SchemaNotFound` if there is none."""
        name = ref_name(ref)
        try:
            return self.schemas[name]
        except KeyError:
            raise SchemaNotFound(f"no definition {name!r}") from None

    def name_for(self, gvk: GVK) -> str:
        try:
            return self.by_gvk[gvk]
        except KeyError:
            raise SchemaNotFound(f"no schema for {gvk.group_version}, Kind={gvk.kind}") from None

    def for_gvk(self, gvk: GVK) -> Schema:
        """The schema of a kind; :class:`SchemaNotFound` if the kind is unknown."""
        return self.schemas[self.name_for(gvk)]

    def with_schemas(self, extra: Mapping[str, Schema]) -> Definitions:
        """A new set with ``extra`` schemas added (or replacing ones of the same name)."""
        merged = dict(self.schemas)
        merged.update(extra)
        return Definitions(merged, self.kubernetes_version, self.source)

    def closure(self, names: Iterable[str]) -> dict[str, Schema]:
        """``names`` and every definition they reference, transitively."""
        out: dict[str, Schema] = {}
        pending = list(names)
        while pending:
            name = pending.pop()
            if name in out:
                continue
            schema = self.schemas.get(name)
            if schema is None:
                raise SchemaNotFound(f"no definition {name!r}")
            out[name] = schema
            pending.extend(n for n in _refs(schema) if n not in out)
        return out


def _refs(node: object) -> Iterable[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield ref_name(value)
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def gvks_of(schema: Schema) -> list[GVK]:
    """The GVKs a schema's ``x-kubernetes-group-version-kind`` extension names."""
    out = []
    for entry in schema.get(GVK_EXTENSION, ()):
        if isinstance(entry, Mapping):
            out.append(GVK(entry.get("group", ""), entry.get("version", ""), entry.get("kind", "")))
    return out


def _index(schemas: Mapping[str, Schema]) -> dict[GVK, str]:
    index: dict[GVK, str] = {}
    for name, schema in schemas.items():
        gvks = gvks_of(schema)
        # Shared types (DeleteOptions, WatchEvent) name many GVKs; a kind of its own wins.
        for gvk in gvks:
            if gvk not in index or len(gvks) == 1:
                index[gvk] = name
    return index


def load_definitions() -> Definitions:
    """Read the shipped definitions now (use :func:`builtin_definitions` instead)."""
    try:
        raw = resources.files(__package__).joinpath("data").joinpath(DATA_FILE).read_bytes()
        data = orjson.loads(gzip.decompress(raw))
    except (OSError, ValueError, EOFError) as exc:
        raise DefinitionsUnavailable(f"cannot read {DATA_FILE}: {exc}") from exc
    return Definitions(data["schemas"], data.get("kubernetes", ""), data.get("source", ""))


_lock = threading.Lock()
_loaded: Definitions | None = None


def builtin_definitions() -> Definitions:
    """The built-in definitions, loaded on the first call and shared afterwards."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = load_definitions()
    return _loaded


def preload_in_background() -> threading.Thread:
    """Start loading the built-in definitions in a daemon thread; returns the thread."""
    thread = threading.Thread(target=builtin_definitions, name="openapi-preload", daemon=True)
    thread.start()
    return thread
