"""LIST a collection, with selectors, pagination and resourceVersion rules.

Where it reads from is `readmode`'s decision. From the watch cache the whole
selection is returned (``limit`` is ignored there, as Kubernetes' watch
cache does for ``resourceVersion=0``); from storage a page is read at one
revision and a continue token leads to the next (`corral.apiserver.store`).
``remainingItemCount`` is not reported (it is optional in Kubernetes).
"""

from __future__ import annotations

from corral.apiserver.asgi import Response
from corral.apiserver.handlers.context import Verb
from corral.apiserver.handlers.io import query_int, query_one
from corral.apiserver.handlers.lists import list_response
from corral.apiserver.handlers.readmode import (
    cache_serves,
    check_match,
    consistent_from_cache,
    parse_revision,
)
from corral.apiserver.handlers.selection import selection_from
from corral.apiserver.store import list_objects
from corral.apiserver.store.objects import served_body
from corral.machinery.status import BadRequest


async def list_(v: Verb) -> Response:
    selection = selection_from(v.request, v.rt)
    rv = query_one(v.request, "resourceVersion")
    token = query_one(v.request, "continue")
    limit = query_int(v.request, "limit")
    if limit < 0:
        raise BadRequest("limit must be a non-negative integer")
    if token and rv and rv != "0":
        raise BadRequest("specifying resource version is not allowed when using continue")
    predicate = None if selection.everything else selection.matches
    from_cache = await cache_serves(v, rv)
    if not rv and not token and not limit:
        from_cache = await consistent_from_cache(v)
    if not token and from_cache:
        objects, revision = v.cache.snapshot(v.rt.collection_prefix(v.namespace))
        items = [
            served_body(v.rt, o.body) for o in objects if predicate is None or predicate(o.obj)
        ]
        return list_response(v.request, v.rt, items, revision)
    revision = 0
    if rv and not token and check_match(v, rv) == "Exact":
        revision = parse_revision(rv)
    page = await list_objects(
        v.backend,
        v.rt,
        v.namespace,
        revision=revision,
        limit=limit,
        continue_token=token,
        predicate=predicate,
    )
    return list_response(v.request, v.rt, page.items, page.revision, page.continue_token)
