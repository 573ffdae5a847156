"""Who shows a cluster as connected when agents move between replicas, restart, or die.

Two `AgentPresence`s (replicas A and B) over one in-process API with the
Cluster kind installed: leases and status as each replica would write them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from corral.client import Client
from corral.management.agentpresence import (
    HEARTBEAT_NAMESPACE,
    LEASE_NAME,
    LEASES,
    AgentPresence,
    heartbeat_name,
)
from corral.management.clusterkinds import CLUSTERS, ensure_cluster_kinds
from inprocess import inprocess_api

A, B = "https://a.example:8443", "https://b.example:8443"


@contextlib.asynccontextmanager
async def api_with_cluster(name: str) -> AsyncIterator[Client]:
    async with inprocess_api() as api:
        client = api.client_for("admin")
        await ensure_cluster_kinds(client)
        await client.create(CLUSTERS, {"metadata": {"name": name}, "spec": {"displayName": name}})
        await api.http.post("/api/v1/namespaces", json={"metadata": {"name": name}})
        yield client


async def connected(client: Client, name: str) -> dict[str, Any]:
    obj = await client.get(CLUSTERS, name)
    condition = next(c for c in obj["status"]["conditions"] if c["type"] == "Connected")
    return {"status": condition["status"], "reason": condition["reason"], **obj["status"]["agent"]}


async def test_an_agent_that_moved_to_another_replica_stays_connected() -> None:
    async with api_with_cluster("c-moved") as client:
        a = AgentPresence(client, A, A, timeout=3, holds=lambda c: False)
        b = AgentPresence(client, B, B, timeout=3, holds=lambda c: c == "c-moved")
        await a.connected("c-moved")
        await b.connected("c-moved")  # the agent redialed and reached B
        await a.disconnected("c-moved")  # A notices its old tunnel is gone, later
        shown = await connected(client, "c-moved")
        assert (shown["status"], shown["replica"]) == ("True", B)
        lease = await client.get(LEASES, LEASE_NAME, namespace="c-moved")
        assert lease["spec"]["holderIdentity"] == B
        assert await a.holder("c-moved") is None  # B sends no heartbeat yet
        heartbeat = asyncio.create_task(b.run_heartbeat())
        try:
            await asyncio.sleep(0.1)
            holder = await a.holder("c-moved")
            assert holder is not None
            assert holder.url == B  # where A forwards requests for c-moved
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat


async def test_a_dead_replicas_cluster_is_swept_and_a_live_ones_is_not() -> None:
    async with api_with_cluster("c-swept") as client:
        b = AgentPresence(client, B, B, timeout=2, holds=lambda c: False)
        a = AgentPresence(client, A, A, timeout=2, holds=lambda c: False)
        heartbeat = asyncio.create_task(b.run_heartbeat())
        try:
            await b.connected("c-swept")
            await asyncio.sleep(0.1)
            await a.sweep()  # B's heartbeat is live: nothing to do
            assert (await connected(client, "c-swept"))["status"] == "True"
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        assert await client.get(LEASES, heartbeat_name(B), namespace=HEARTBEAT_NAMESPACE)
        await asyncio.sleep(2.2)  # B's heartbeat expires
        assert await a.holder("c-swept") is None
        await a.sweep()
        shown = await connected(client, "c-swept")
        assert (shown["status"], shown["reason"], shown["connected"]) == (
            "False",
            "AgentDisconnected",
            False,
        )


async def test_a_restarted_replica_releases_what_it_held_before() -> None:
    async with api_with_cluster("c-restart") as client:
        before = AgentPresence(client, A, A, timeout=3, holds=lambda c: False)
        await before.connected("c-restart")
        after = AgentPresence(client, A, A, timeout=3, holds=lambda c: False)  # no tunnel now
        await after.sweep()
        assert (await connected(client, "c-restart"))["status"] == "False"
        leases = await client.list(LEASES, namespace="c-restart")
        assert leases["items"] == []
