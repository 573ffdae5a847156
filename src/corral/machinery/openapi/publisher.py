"""The OpenAPI documents a server publishes, built on demand and cached with ETags.

:class:`OpenAPIPublisher` holds the served resources and any extra (CRD)
schemas. It builds nothing until a document is asked for, then builds all v3
group-version documents at once (the ``/openapi/v3`` index needs the hash of
each) and the v2 document separately; :meth:`OpenAPIPublisher.update` drops the
cache, so documents follow CRD changes. A document's ETag is the uppercase hex
SHA-512 of its bytes, as in kube-apiserver, and the index points at each
group-version with ``serverRelativeURL: /openapi/v3/<path>?hash=<etag>``.

CRD schemas get what kube-apiserver adds to them: a definition named
``<reversed group>.<version>.<Kind>`` tagged with its GVK, ``metadata`` typed as
``ObjectMeta``, and a ``<Kind>List`` definition.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from corral.machinery.openapi.definitions import (
    GVK,
    GVK_EXTENSION,
    V3_PREFIX,
    Definitions,
    Schema,
    builtin_definitions,
)
from corral.machinery.openapi.documents import v2_document, v3_document
from corral.machinery.openapi.operations import Operation, operations_for
from corral.machinery.openapi.protobuf import PROTOBUF_CONTENT_TYPE, encode_document
from corral.machinery.openapi.resources import ServedResource

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
V3_PREFIX_URL = "/openapi/v3/"


@dataclass(frozen=True)
class Document:
    """A serialized document and its ETag (without quotes)."""

    body: bytes
    etag: str
    content_type: str = "application/json"


def make_document(content: Mapping[str, Any]) -> Document:
    body = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    return Document(body, _etag(body))


def _etag(body: bytes) -> str:
    return hashlib.sha512(body).hexdigest().upper()


def definition_name(gvk: GVK) -> str:
    """Kubernetes' definition name of a CRD kind: ``com.example.v1.Widget``."""
    group = ".".join(reversed(gvk.group.split("."))) if gvk.group else "core"
    return f"{group}.{gvk.version}.{gvk.kind}"


def _gvk_tag(gvk: GVK) -> list[dict[str, str]]:
    return [{"group": gvk.group, "kind": gvk.kind, "version": gvk.version}]


def custom_schemas(gvk: GVK, schema: Schema) -> dict[str, Schema]:
    """The definitions for a CRD version: its kind and its list, named as Kubernetes names them."""
    kind = dict(schema)
    kind.setdefault("type", "object")
    properties = dict(kind.get("properties") or {})
    properties["apiVersion"] = {"type": "string", "description": "APIVersion of the object."}
    properties["kind"] = {"type": "string", "description": "Kind of the object."}
    properties["metadata"] = {
        "$ref": V3_PREFIX + OBJECT_META,
        "description": "Standard object's metadata.",
    }
    kind["properties"] = properties
    kind[GVK_EXTENSION] = _gvk_tag(gvk)
    name = definition_name(gvk)
    list_gvk = GVK(gvk.group, gvk.version, gvk.kind + "List")
    items = {"type": "array", "items": {"$ref": V3_PREFIX + name}}
    listing = {
        "description": f"{list_gvk.kind} is a list of {gvk.kind}",
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "items": items,
            "metadata": {"$ref": V3_PREFIX + LIST_META},
        },
        GVK_EXTENSION: _gvk_tag(list_gvk),
    }
    return {name: kind, definition_name(list_gvk): listing}


def _fallback(gvk: GVK) -> dict[str, Schema]:
    """A kind served without a schema: any fields, still with a GVK and metadata."""
    return custom_schemas(gvk, {"type": "object", "x-kubernetes-preserve-unknown-fields": True})


@dataclass(frozen=True)
class _Built:
    v3: dict[str, Document]
    index: Document


class OpenAPIPublisher:
    """The ``/openapi/v2`` and ``/openapi/v3`` documents of a set of served resources."""

    def __init__(self, definitions: Definitions | None = None) -> None:
        self._base = definitions
        self._lock = threading.Lock()
        self._resources: tuple[ServedResource, ...] = ()
        self._extra: dict[GVK, Schema] = {}
        self._definitions: Definitions | None = None
        self._built: _Built | None = None
        self._v2: Document | None = None
        self._v2_proto: Document | None = None

    def update(
        self, resources: Iterable[ServedResource], extra_schemas: Mapping[GVK, Schema] | None = None
    ) -> None:
        """Serve ``resources``; ``extra_schemas`` gives the schema of kinds (CRDs) not built in."""
        with self._lock:
            self._resources = tuple(resources)
            self._extra = dict(extra_schemas or {})
            self._definitions = None
            self._built = None
            self._v2 = None
            self._v2_proto = None

    @property
    def definitions(self) -> Definitions:
        """Built-in definitions plus those of the extra schemas (and of schema-less kinds)."""
        defs = self._definitions
        if defs is None:
            base = self._base or builtin_definitions()
            added: dict[str, Schema] = {}
            for gvk, schema in self._extra.items():
                added.update(custom_schemas(gvk, schema))
            for resource in self._resources:
                if resource.gvk not in base.by_gvk and resource.gvk not in self._extra:
                    added.update(_fallback(resource.gvk))
            defs = base.with_schemas(added) if added else base
            self._definitions = defs
        return defs

    def _operations(self, defs: Definitions) -> dict[str, list[Operation]]:
        by_path: dict[str, list[Operation]] = {}
        for resource in self._resources:
            ops = operations_for(resource, defs.name_for)
            by_path.setdefault(resource.document_path, []).extend(ops)
        return by_path

    def _build(self) -> _Built:
        built = self._built
        if built is not None:
            return built
        with self._lock:
            if self._built is None:
                defs = self.definitions
                docs = {
                    path: make_document(v3_document(ops, defs))
                    for path, ops in sorted(self._operations(defs).items())
                }
                index = {
                    "paths": {
                        path: {"serverRelativeURL": f"{V3_PREFIX_URL}{path}?hash={doc.etag}"}
                        for path, doc in docs.items()
                    }
                }
                self._built = _Built(docs, make_document(index))
            return self._built

    def v3_index(self) -> Document:
        """``/openapi/v3``: one entry per served group-version."""
        return self._build().index

    def v3_document(self, path: str) -> Document | None:
        """``/openapi/v3/<path>`` (``api/v1``, ``apis/apps/v1``), or None if not served."""
        return self._build().v3.get(path.strip("/"))

    def v3_paths(self) -> list[str]:
        return list(self._build().v3)

    def _v2_content(self) -> dict[str, Any]:
        defs = self.definitions
        ops = [op for group in self._operations(defs).values() for op in group]
        return v2_document(ops, defs)

    def v2(self) -> Document:
        """``/openapi/v2`` as JSON."""
        doc = self._v2
        if doc is None:
            doc = make_document(self._v2_content())
            self._v2 = doc
        return doc

    def v2_protobuf(self) -> Document:
        """``/openapi/v2`` as ``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``."""
        doc = self._v2_proto
        if doc is None:
            json_doc = self.v2()
            body = encode_document(orjson.loads(json_doc.body))
            # One ETag for both encodings of the same document (Vary: Accept).
            doc = Document(body, json_doc.etag, PROTOBUF_CONTENT_TYPE)
            self._v2_proto = doc
        return doc
