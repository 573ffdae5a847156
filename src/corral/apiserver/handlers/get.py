"""GET one object: from the watch cache at ``resourceVersion=0``, a NotOlderThan
the cache has reached, or a consistent read the cache has caught up with;
otherwise from storage (`readmode`)."""

from __future__ import annotations

import orjson

from corral.apiserver.asgi import Response
from corral.apiserver.handlers.context import Verb
from corral.apiserver.handlers.io import body_response, query_one, wants_table
from corral.apiserver.handlers.readmode import cache_serves, consistent_from_cache
from corral.apiserver.store import get_object
from corral.apiserver.store.objects import served_body
from corral.apiserver.tables import to_table
from corral.machinery.status import NotFound


async def get(v: Verb) -> Response:
    rv = query_one(v.request, "resourceVersion")
    if await cache_serves(v, rv) or (not rv and await consistent_from_cache(v)):
        cached = v.cache.get(v.rt.key(v.namespace, v.name))
        if cached is None:
            raise NotFound(v.rt.resource, v.name, group=v.rt.group)
        body = served_body(v.rt, cached.body)
    else:
        body = (await get_object(v.backend, v.rt, v.namespace, v.name)).body
    if v.info.subresource == "status" or not wants_table(v.request):
        return body_response(v.request, 200, body)
    obj = orjson.loads(body)
    table = to_table(v.rt, [obj], query_one(v.request, "includeObject", "Metadata"))
    table["metadata"] = {"resourceVersion": obj["metadata"]["resourceVersion"]}
    return body_response(v.request, 200, orjson.dumps(table))
