"""The scheduler's queue against an in-process API, on a fake clock.

An unschedulable pod is tried once and then parked: no retry on a node
heartbeat or on time alone (until the 5 minute flush), a retry when a node
that fits arrives, and then only after its back-off on the fake clock.
Assumed pods keep a burst from overcommitting a node before the informer
reports the binds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from typing import Any

import pytest

from corral.client import Client
from corral.controller import FakeClock, SharedInformers
from corral.kube.context import KubeContext
from corral.kube.eventrecorder import EventRecorder
from corral.kube.scheduler import Scheduler
from inprocess import inprocess_api

from .fakenodes import NODES, PODS, create_node, heartbeat, pod_body


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async with inprocess_api() as api, api.client_for("system:kube-scheduler") as c:
        yield c


class Running:
    def __init__(self, client: Client) -> None:
        self.clock = FakeClock()
        self.ctx = KubeContext(client, SharedInformers(client), clock=self.clock)
        self.recorder = EventRecorder(client, "default-scheduler")
        self.scheduler = Scheduler(self.ctx, self.recorder)
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.ctx.informers.start()
        await self.ctx.informers.wait_for_sync()
        self.tasks = [
            asyncio.create_task(self.scheduler.run()),
            asyncio.create_task(self.recorder.run()),
        ]

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.recorder.stop()
        for task in self.tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await self.ctx.informers.stop()


@pytest.fixture
async def running(client: Client) -> AsyncIterator[Running]:
    made = Running(client)
    await made.start()
    yield made
    await made.stop()


async def wait_for(predicate: Callable[[], bool], within: float = 10) -> None:
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - polling with a deadline
            await asyncio.sleep(0.01)


async def settle() -> None:
    """Let every ready task run (no timers involved: the clock is fake)."""
    for _ in range(50):
        await asyncio.sleep(0)


async def bound_to(client: Client, ns: str, name: str) -> str:
    pod: dict[str, Any] = await client.get(PODS, name, namespace=ns)
    node: str = pod["spec"].get("nodeName") or ""
    return node


async def test_unschedulable_pod_waits_for_a_change_and_its_backoff(
    client: Client, running: Running
) -> None:
    sched = running.scheduler
    await create_node(client, "small", cpu="1", lease=False)
    await wait_for(lambda: sched.cache.node_count == 1)
    await client.create(PODS, pod_body("big", cpu="2"), namespace="default")
    await wait_for(lambda: sched.failed == 1)
    assert "default/big" in sched.unschedulable

    await heartbeat_node_only(client, "small")  # a heartbeat changes nothing that matters
    await settle()
    running.clock.advance(30)  # time alone does not retry a parked pod (before the flush)
    await settle()
    assert sched.failed == 1

    await create_node(client, "large", cpu="4", lease=False)

    def progressed() -> bool:
        running.clock.advance(1)  # back-offs are on the fake clock
        return sched.scheduled == 1

    await wait_for(progressed)
    assert await bound_to(client, "default", "big") == "large"
    # the node is made in two writes (object, then status): at most one more try
    assert sched.failed <= 2


async def test_retry_honours_the_backoff(client: Client, running: Running) -> None:
    sched = running.scheduler
    await client.create(PODS, pod_body("early", cpu="1"), namespace="default")
    await wait_for(lambda: sched.failed == 1)
    await create_node(client, "arrives", cpu="2", lease=False)
    await wait_for(lambda: sched.cache.node_count == 1)
    await settle()
    assert sched.scheduled == 0  # still backing off (1 s on the fake clock)
    running.clock.advance(1.5)
    await wait_for(lambda: sched.scheduled == 1)


async def test_a_burst_does_not_overcommit(client: Client, running: Running) -> None:
    sched = running.scheduler
    for i in range(3):
        await create_node(client, f"n{i}", cpu="1", pods=110, lease=False)
    await wait_for(lambda: sched.cache.node_count == 3)
    await asyncio.gather(
        *(
            client.create(PODS, pod_body(f"p{i}", cpu="300m"), namespace="default")
            for i in range(12)
        )
    )
    # 3 fit per node (900m of 1000m): 9 bound, 3 unschedulable
    await wait_for(lambda: sched.scheduled == 9 and sched.failed >= 3)
    listed = await client.list(PODS, namespace="default")
    per_node: dict[str, int] = {}
    for pod in listed["items"]:
        node = pod["spec"].get("nodeName")
        if node:
            per_node[node] = per_node.get(node, 0) + 1
    assert per_node == {"n0": 3, "n1": 3, "n2": 3}
    assert len(sched.unschedulable) == 3


async def heartbeat_node_only(client: Client, name: str) -> None:
    """A kubelet's Ready heartbeat without a lease (these nodes have none)."""
    with suppress(Exception):
        await heartbeat(client, name)
    node = await client.get(NODES, name)
    assert node["status"]["conditions"]
