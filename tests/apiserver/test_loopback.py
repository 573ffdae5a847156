"""The in-process loopback transport: the official client semantics, no HTTP.

A `corral.client.Client` over `LoopbackTransport` must behave exactly like
one over HTTPS: the same answers and errors, watches that stream and end
when the caller leaves, and authentication as a named system user whose
token never leaves the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from corral.apiserver import LoopbackTransport
from corral.client import Client, ResourceRef
from corral.machinery.status import AlreadyExists, NotFound, Unauthorized
from inprocess import InProcessAPI, inprocess_api

CONFIGMAPS = ResourceRef("", "v1", "configmaps", kind="ConfigMap")


@pytest.fixture
async def api() -> AsyncIterator[InProcessAPI]:
    async with inprocess_api() as api:
        yield api


async def test_crud_and_errors_as_over_http(api: InProcessAPI) -> None:
    client = api.client_for("system:test")
    made = await client.create(CONFIGMAPS, {"metadata": {"name": "a"}, "data": {"k": "v"}})
    assert made["metadata"]["uid"]
    got = await client.get(CONFIGMAPS, "a")
    assert got["data"] == {"k": "v"}
    with pytest.raises(AlreadyExists):
        await client.create(CONFIGMAPS, {"metadata": {"name": "a"}})
    await client.delete(CONFIGMAPS, "a")
    with pytest.raises(NotFound):
        await client.get(CONFIGMAPS, "a")
    await client.close()


async def test_a_token_not_issued_here_is_refused(api: InProcessAPI) -> None:
    client = Client(LoopbackTransport(api.app, "made-up"), namespace="default")
    with pytest.raises(Unauthorized):
        await client.get(CONFIGMAPS, "a")
    await client.close()


async def test_watch_streams_and_ends_when_the_caller_leaves(api: InProcessAPI) -> None:
    transport = LoopbackTransport(api.app, api.loopback.issue("system:test"))
    client = Client(transport, namespace="default")
    listed = await client.list(CONFIGMAPS)
    seen: list[tuple[str, str]] = []
    async with client.watch(
        CONFIGMAPS, resource_version=listed["metadata"]["resourceVersion"]
    ) as events:
        await client.create(CONFIGMAPS, {"metadata": {"name": "w1"}})
        await client.create(CONFIGMAPS, {"metadata": {"name": "w2"}})
        async with asyncio.timeout(10):
            async for type_, obj in events:
                seen.append((type_, obj["metadata"]["name"]))
                if len(seen) == 2:
                    break
    assert seen == [("ADDED", "w1"), ("ADDED", "w2")]
    async with asyncio.timeout(5):
        while transport._tasks:  # noqa: ASYNC110 (the app notices the disconnect)
            await asyncio.sleep(0.01)
    await client.close()


async def test_writes_are_recorded_under_the_transport_user_agent(api: InProcessAPI) -> None:
    """A component's writes carry its name in managedFields, as Kubernetes' do."""
    transport = LoopbackTransport(
        api.app, api.loopback.issue("system:test"), "kube-controller-manager"
    )
    client = Client(transport, namespace="default")
    made = await client.create(CONFIGMAPS, {"metadata": {"name": "owned"}, "data": {"k": "v"}})
    assert [m["manager"] for m in made["metadata"]["managedFields"]] == ["kube-controller-manager"]
    await client.close()
