"""Shaping collection answers: the ``<Kind>List`` JSON, built from item bytes.

Items are already-encoded JSON (from the watch cache or storage), so a list
is assembled by joining bytes, never by re-encoding its objects.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from corral.apiserver.asgi import Request, Response
from corral.apiserver.handlers.io import body_response, query_one, wants_table
from corral.apiserver.registry import ResourceType
from corral.apiserver.tables import to_table


def list_metadata(revision: int, continue_token: str = "", remaining: int | None = None) -> bytes:
    meta: dict[str, object] = {"resourceVersion": str(revision)}
    if continue_token:
        meta["continue"] = continue_token
    if remaining is not None:
        meta["remainingItemCount"] = remaining
    return orjson.dumps(meta)


def list_response(
    request: Request,
    rt: ResourceType,
    items: Sequence[bytes],
    revision: int,
    continue_token: str = "",
    remaining: int | None = None,
) -> Response:
    """The list answer (JSON, YAML or Table)."""
    meta = list_metadata(revision, continue_token, remaining)
    if wants_table(request):
        objects = [orjson.loads(item) for item in items]
        table = to_table(rt, objects, query_one(request, "includeObject", "Metadata"))
        table["metadata"] = orjson.loads(meta)
        return body_response(request, 200, orjson.dumps(table))
    head = b'{"kind":"%s","apiVersion":"%s","metadata":%s,"items":[' % (
        rt.list_kind.encode(),
        rt.api_version.encode(),
        meta,
    )
    return body_response(request, 200, head + b",".join(items) + b"]}")
