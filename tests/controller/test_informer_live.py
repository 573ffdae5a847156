"""The informer against a real server: sync, events, the namespace index, re-list on Expired.

The server runs with a tiny watch-cache ring (``CORRAL_WATCH_CACHE_SIZE``), so
an informer stopped while more changes than the ring holds happen meets 410
Expired when it resumes, and must re-list. No fixed sleeps: events and polls
with deadlines.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from corral.client import Client
from corral.controller import NAMESPACE_INDEX, Informer
from serverproc import CorralServer, module_server

from .live import CMS, cm, eventually, new_namespace

RING = 8


server = module_server("informer", env={"CORRAL_WATCH_CACHE_SIZE": str(RING)})


@pytest.fixture
async def client(server: CorralServer) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(server.kubeconfig_path) as c:
        yield c


class Recorder:
    """Every handler call of an informer, in order."""

    def __init__(self, informer: Informer) -> None:
        self.events: list[tuple[str, str]] = []
        informer.on_add(lambda o: self.events.append(("add", _name(o))))
        informer.on_update(lambda _old, new: self.events.append(("update", _name(new))))
        informer.on_delete(lambda o: self.events.append(("delete", _name(o))))

    def has(self, kind: str, name: str) -> bool:
        return (kind, name) in self.events


def _name(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["name"])


async def test_sync_then_create_update_delete(client: Client) -> None:
    ns, other = await new_namespace(client), await new_namespace(client)
    for i in range(30):
        await client.create(CMS, cm(f"c{i:02}", i=str(i)), namespace=ns)
    await client.create(CMS, cm("elsewhere"), namespace=other)

    informer = Informer(client, CMS, label_selector=None)
    informer.add_indexer("data-i", lambda o: [str((o.get("data") or {}).get("i", ""))])
    seen = Recorder(informer)
    task = asyncio.create_task(informer.run())
    try:
        await asyncio.wait_for(informer.wait_for_sync(), 10)
        assert informer.has_synced
        assert len(informer.by_index(NAMESPACE_INDEX, ns)) == 30
        assert [_name(o) for o in informer.by_index(NAMESPACE_INDEX, other)] == ["elsewhere"]
        assert [_name(o) for o in informer.by_index("data-i", "7")] == ["c07"]
        assert sum(1 for kind, _ in seen.events if kind == "add") >= 31

        await client.create(CMS, cm("new"), namespace=ns)
        await eventually(lambda: seen.has("add", "new"))
        await client.patch(CMS, "c03", {"data": {"i": "33"}}, namespace=ns)
        await eventually(lambda: seen.has("update", "c03"))
        assert [_name(o) for o in informer.by_index("data-i", "33")] == ["c03"]
        assert informer.by_index("data-i", "3") == []
        await client.delete(CMS, "c04", namespace=ns)
        await eventually(lambda: seen.has("delete", "c04"))
        assert informer.get(f"{ns}/c04") is None
        assert len(informer.by_index(NAMESPACE_INDEX, ns)) == 30  # +new, -c04
        assert informer.lists == 1
    finally:
        await informer.stop()
    assert task.done()


async def test_relist_after_expired_emits_the_differences(client: Client) -> None:
    ns = await new_namespace(client)
    for name in ("keep", "gone", "changed"):
        await client.create(CMS, cm(name), namespace=ns)
    informer = Informer(client, CMS, namespace=ns)
    seen = Recorder(informer)
    task = asyncio.create_task(informer.run())
    await asyncio.wait_for(informer.wait_for_sync(), 10)
    await informer.stop()
    assert task.done()
    stale = informer.resource_version

    # Meanwhile: more writes than the watch-cache ring keeps.
    await client.delete(CMS, "gone", namespace=ns)
    await client.patch(CMS, "changed", {"data": {"v": "2"}}, namespace=ns)
    for i in range(RING * 2):
        await client.create(CMS, cm(f"filler{i}"), namespace=ns)
    seen.events.clear()

    task = asyncio.create_task(informer.run())  # resumes from `stale`: Expired, re-list
    try:
        await eventually(lambda: informer.lists == 2 and informer.resource_version != stale)
        await eventually(lambda: seen.has("delete", "gone"))
        assert seen.has("update", "changed")
        assert seen.has("add", "filler0")
        assert not seen.has("update", "keep")  # unchanged: no event
        assert informer.get(f"{ns}/gone") is None
        assert informer.get(f"{ns}/changed") is not None
        assert informer.get(f"{ns}/changed")["data"] == {"v": "2"}  # type: ignore[index]
    finally:
        await informer.stop()
    assert task.done()


async def test_resync_redelivers_every_object(client: Client) -> None:
    ns = await new_namespace(client)
    await client.create(CMS, cm("a"), namespace=ns)
    await client.create(CMS, cm("b"), namespace=ns)
    informer = Informer(client, CMS, namespace=ns, resync=0.05)
    seen = Recorder(informer)
    task = asyncio.create_task(informer.run())
    try:
        await eventually(lambda: seen.has("update", "a") and seen.has("update", "b"))
    finally:
        await informer.stop()
    assert task.done()
