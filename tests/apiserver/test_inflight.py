"""The in-flight limit: over the limit is 429 with Retry-After; watches are exempt."""

from __future__ import annotations

import asyncio

import orjson

from corral.apiserver.asgi import AnyResponse, Request, Response
from corral.apiserver.inflight import InFlightLimit


def request(method: str, path: str, query: bytes = b"") -> Request:
    return Request({"method": method, "path": path, "query_string": query, "headers": []})


async def test_limit_answers_429_and_counts_by_kind() -> None:
    limit = InFlightLimit(read_only=1, mutating=1)
    release = asyncio.Event()

    async def slow(_: Request) -> AnyResponse:
        await release.wait()
        return Response(200)

    busy = asyncio.create_task(limit(request("GET", "/api/v1/pods"), slow))
    await asyncio.sleep(0)
    refused = await limit(request("GET", "/api/v1/pods"), slow)
    assert isinstance(refused, Response)
    assert refused.status == 429
    assert (b"retry-after", b"1") in refused.headers
    assert orjson.loads(refused.body)["reason"] == "TooManyRequests"
    release.set()
    # A write and a watch are not held back by the busy read.
    assert (await limit(request("POST", "/api/v1/namespaces/a/pods"), slow)).status == 200
    assert (await limit(request("GET", "/api/v1/pods", b"watch=1"), slow)).status == 200
    assert (await busy).status == 200
