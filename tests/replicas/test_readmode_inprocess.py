"""Reads at a resourceVersion the watch cache has not reached: wait, then 504.

What a replica does when a client brings a resourceVersion written through
another replica a moment ago (in-process, one memory backend): the read
waits for the cache to catch up and is served from it; a revision nobody has
written answers Kubernetes' ``Timeout`` Status with cause
``ResourceVersionTooLarge`` after about three seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from inprocess import InProcessAPI, inprocess_api

CMS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def api() -> AsyncIterator[InProcessAPI]:
    async with inprocess_api() as api:
        yield api


async def make(http: httpx.AsyncClient, name: str) -> str:
    response = await http.post(CMS, json={"metadata": {"name": name}, "data": {"k": "v"}})
    assert response.status_code == 201, response.text
    rv: str = response.json()["metadata"]["resourceVersion"]
    return rv


@pytest.mark.parametrize("path", [CMS, f"{CMS}/a"])
async def test_a_revision_nobody_wrote_is_too_large_after_a_wait(
    api: InProcessAPI, path: str
) -> None:
    rv = int(await make(api.http, "a"))
    started = time.monotonic()
    response = await api.http.get(path, params={"resourceVersion": str(rv + 1000)})
    waited = time.monotonic() - started
    assert response.status_code == 504
    assert response.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"Timeout: Too large resource version: {rv + 1000}, current: {rv}",
        "reason": "Timeout",
        "details": {
            "causes": [
                {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
            ],
            "retryAfterSeconds": 1,
        },
        "code": 504,
    }
    assert 2.5 < waited < 6


async def test_a_read_waits_for_the_cache_to_reach_its_revision(api: InProcessAPI) -> None:
    rv = int(await make(api.http, "a"))
    # Ask for the next revision before it exists; the write lands while the read waits.
    read = asyncio.create_task(api.http.get(CMS, params={"resourceVersion": str(rv + 1)}))
    await asyncio.sleep(0.2)  # the read is waiting (it has nothing to poll for)
    assert not read.done()
    written = await make(api.http, "b")
    response = await read
    assert response.status_code == 200
    body = response.json()
    assert int(body["metadata"]["resourceVersion"]) >= int(written)
    assert [i["metadata"]["name"] for i in body["items"]] == ["a", "b"]


async def test_exact_revision_in_the_future_is_too_large_at_once(api: InProcessAPI) -> None:
    rv = int(await make(api.http, "a"))
    response = await api.http.get(
        CMS, params={"resourceVersion": str(rv + 5), "resourceVersionMatch": "Exact"}
    )
    assert response.status_code == 504
    assert response.json()["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"
