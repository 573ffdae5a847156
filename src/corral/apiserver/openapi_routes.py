"""``/openapi/v2`` and ``/openapi/v3``: the documents kubectl needs to validate.

kubectl 1.32 reads ``/openapi/v3`` before ``create -f``/``apply -f`` (to learn
that the server validates fields, and for ``explain``), and falls back to
``/openapi/v2`` in protobuf. The documents are built by
`corral.machinery.openapi` from the registry's resource types, once, on the
first request that needs them (in a worker thread: building takes tens of
milliseconds, which the start-up path and the event loop should not pay),
and rebuilt on the next request after `refresh` (the CRD controller calls it
when the served CRDs change; their versions' schemas are added). Each is served with its
ETag; a matching ``If-None-Match`` gets 304.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from corral.apiserver.asgi import Request, Response
from corral.apiserver.registry import Registry, ResourceType
from corral.machinery.openapi import (
    GVK,
    PROTOBUF_ACCEPT_TYPES,
    PROTOBUF_CONTENT_TYPE,
    Document,
    OpenAPIPublisher,
    ServedResource,
    Subresource,
    scale,
    status_of,
)
from corral.machinery.status import MethodNotAllowedError, NotFoundError

Schema = Mapping[str, Any]
V2 = "/openapi/v2"
V3 = "/openapi/v3"


def served(rt: ResourceType) -> ServedResource:
    """How the OpenAPI documents describe one resource type."""
    resource = ServedResource(
        rt.group,
        rt.version,
        rt.kind,
        rt.resource,
        rt.namespaced,
        rt.verbs,
        # Custom resources take no strategic merge patch (415): kubectl must be told, or
        # its apply sends one (it reads the PATCH body types from /openapi/v3).
        strategic_merge_patch=rt.custom is None,
    )
    subresources: list[Subresource] = []
    if "status" in rt.subresources:
        subresources.append(status_of(resource))
    if "scale" in rt.subresources:
        subresources.append(scale())
    return replace(resource, subresources=tuple(subresources))


class OpenAPIRoutes:
    """Serves the OpenAPI documents of a registry's resource types."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._publisher = OpenAPIPublisher()
        self._ready: asyncio.Future[None] | None = None
        self._last: asyncio.Future[None] | None = None

    def refresh(self) -> None:
        """Describe the registry's types afresh (documents are rebuilt on demand)."""
        self._ready = None

    async def _publisher_ready(self) -> OpenAPIPublisher:
        if self._ready is None:
            rts = self._registry.types()
            types = [served(rt) for rt in rts]
            schemas = {
                rt.gvk: rt.custom.schema
                for rt in rts
                if rt.custom is not None and rt.custom.schema is not None
            }
            build = self._build_after(self._last, types, schemas)
            self._ready = self._last = asyncio.ensure_future(build)
        await asyncio.shield(self._ready)
        return self._publisher

    async def _build_after(
        self,
        previous: asyncio.Future[None] | None,
        types: list[ServedResource],
        schemas: Mapping[GVK, Schema],
    ) -> None:
        # Builds run one after another, so an older one never finishes last.
        if previous is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(previous)
        await asyncio.to_thread(self._build, types, schemas)

    def _build(self, types: list[ServedResource], schemas: Mapping[GVK, Schema]) -> None:
        self._publisher.update(types, extra_schemas=schemas)
        self._publisher.v3_index()
        self._publisher.v2()

    async def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowedError(f"{request.method} is not allowed on {request.path}")
        publisher = await self._publisher_ready()
        path = request.path.rstrip("/")
        doc: Document | None
        if path == V2:
            doc = publisher.v2_protobuf() if _wants_protobuf(request) else publisher.v2()
        elif path == V3:
            doc = publisher.v3_index()
        elif path.startswith(V3 + "/"):
            doc = publisher.v3_document(path[len(V3) + 1 :])
        else:
            doc = None
        if doc is None:
            raise NotFoundError()
        etag = f'"{doc.etag}"'.encode()
        headers = [(b"etag", etag), (b"vary", b"Accept")]
        content_type = doc.content_type.encode()
        if request.headers.get("if-none-match", "") == etag.decode():
            return Response(304, b"", content_type, headers)
        return Response(200, doc.body, content_type, headers)


def _wants_protobuf(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    for part in accept.split(","):
        media = part.split(";")[0].strip()
        if media in PROTOBUF_ACCEPT_TYPES or media == PROTOBUF_CONTENT_TYPE:
            return True
        if media in ("application/json", "*/*"):
            return False
    return False
