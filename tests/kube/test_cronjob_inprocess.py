"""The CronJob controller on a fake clock, against an in-process API server.

The work queue and the wall clock both run on one `FakeClock`, so nothing
happens between firings unless the test advances it: the controller has
exactly one timer waiting (no polling), no Job exists a moment before the
minute, and one exists right after. Forbid skips a firing while a Job runs;
Replace deletes the running Job and starts the new one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from controllerthread import new_context, running
from corral.client import Client
from corral.controller import FakeClock
from corral.kube import cronjob
from corral.kube.resources import CRON_JOBS, JOBS, NAMESPACES
from inprocess import inprocess_api
from polling import eventually

from .jobkubelet import event_count

Obj = dict[str, Any]
NS = "cron"


wait_for = partial(eventually, deadline=10.0, interval=0.01)


@dataclass
class World:
    client: Client
    clock: FakeClock
    base: datetime

    def wall(self) -> datetime:
        return self.base + timedelta(seconds=self.clock.now())

    async def jobs(self) -> list[str]:
        listed = await self.client.list(JOBS, namespace=NS)
        return sorted(j["metadata"]["name"] for j in listed.get("items") or [])

    async def create(self, name: str, policy: str) -> Obj:
        body = {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": name},
            "spec": {
                "schedule": "*/1 * * * *",
                "concurrencyPolicy": policy,
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [{"name": "c", "image": "busybox"}],
                            }
                        }
                    }
                },
            },
        }
        created: Obj = await self.client.create(CRON_JOBS, body, namespace=NS)
        return created

    def advance_to(self, moment: datetime) -> None:
        self.clock.advance(max(0.0, (moment - self.wall()).total_seconds()))


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with (
        inprocess_api() as api,
        api.client_for("system:kube-controller-manager") as client,
    ):
        clock = FakeClock(start=0.0)
        the = World(client, clock, datetime.now(UTC))
        ctx = new_context(client, clock=clock, now=the.wall)
        await client.create(NAMESPACES, {"metadata": {"name": NS}})
        async with running(ctx, cronjob.build(ctx)):
            yield the


def minute_after(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


async def first_run(world: World, name: str, policy: str) -> tuple[Obj, datetime]:
    cj = await world.create(name, policy)
    await wait_for(lambda: world.clock.pending >= 1, "the controller's timer for the next firing")
    created = datetime.fromisoformat(cj["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
    firing = minute_after(max(created, world.wall()))
    world.advance_to(firing - timedelta(seconds=0.5))
    await asyncio.sleep(0.05)
    assert await world.jobs() == []  # a moment before the minute: nothing
    assert world.clock.pending == 1  # one timer, no polling
    world.advance_to(firing + timedelta(seconds=0.2))
    job = f"{name}-{int(firing.timestamp()) // 60}"

    async def started() -> bool:
        return await world.jobs() == [job]

    await wait_for(started, "the first job")
    return cj, firing


async def test_forbid_skips_the_next_firing_while_a_job_runs(world: World) -> None:
    _, firing = await first_run(world, "solo", "Forbid")
    world.advance_to(firing + timedelta(minutes=1, seconds=0.2))

    async def skipped() -> bool:
        return await event_count(world.client, NS, "solo", "JobAlreadyActive") >= 1

    await wait_for(skipped, "the JobAlreadyActive event")
    assert await world.jobs() == [f"solo-{int(firing.timestamp()) // 60}"]


async def test_replace_deletes_the_running_job(world: World) -> None:
    _, firing = await first_run(world, "swap", "Replace")
    second = firing + timedelta(minutes=1)
    world.advance_to(second + timedelta(seconds=0.2))
    job = f"swap-{int(second.timestamp()) // 60}"

    async def replaced() -> bool:
        return await world.jobs() == [job]

    await wait_for(replaced, "the second job replacing the first")

    async def active() -> bool:
        status = (await world.client.get(CRON_JOBS, "swap", namespace=NS)).get("status") or {}
        return [ref["name"] for ref in status.get("active") or []] == [job]

    await wait_for(active, "status.active naming only the second job")


async def test_allow_runs_jobs_side_by_side(world: World) -> None:
    _, firing = await first_run(world, "many", "Allow")
    world.advance_to(firing + timedelta(minutes=2, seconds=0.2))

    async def two() -> bool:
        return len(await world.jobs()) == 2

    # two minutes passed in one jump: only the latest missed firing starts
    await wait_for(two, "the latest firing's job")
    expected = sorted(
        f"many-{int(t.timestamp()) // 60}" for t in (firing, firing + timedelta(minutes=2))
    )
    assert await world.jobs() == expected


async def test_too_many_missed_firings_start_only_the_latest(world: World) -> None:
    _, firing = await first_run(world, "late", "Allow")
    latest = firing + timedelta(minutes=150)
    world.advance_to(latest + timedelta(seconds=0.2))

    async def warned() -> bool:
        return await event_count(world.client, NS, "late", "TooManyMissedTimes") >= 1

    await wait_for(warned, "the TooManyMissedTimes event")
    expected = sorted(f"late-{int(t.timestamp()) // 60}" for t in (firing, latest))

    async def started() -> bool:
        return await world.jobs() == expected

    await wait_for(started, "only the latest missed firing's job")
