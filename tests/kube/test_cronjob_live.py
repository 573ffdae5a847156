"""The CronJob controller against a real ``corral server``, run in this process.

One server for the module (no built-in controllers); each test runs the
CronJob controller here on a `ShiftedClock`, so a schedule fires when the
test jumps the wall clock past the minute — never by waiting for one. The
Jobs it creates are finished by the test writing their status as the Job
controller would. Every wait polls with a deadline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from controllerthread import new_context, running
from corral.client import Client
from corral.kube import cronjob
from corral.kube.resources import CRON_JOBS, JOBS
from corral.machinery.status import NotFound
from polling import eventually
from serverproc import CorralServer, module_server

from .jobkubelet import event_count, events, new_namespace
from .shiftclock import ShiftedClock

Obj = dict[str, Any]


server = module_server("cronjob")


@dataclass
class Cron:
    client: Client
    clock: ShiftedClock
    ns: str

    async def create(self, name: str, **spec: Any) -> Obj:
        body = {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": name},
            "spec": {
                "schedule": "*/1 * * * *",
                "jobTemplate": {
                    "metadata": {"labels": {"from": name}},
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [{"name": "c", "image": "busybox"}],
                            }
                        }
                    },
                },
                **spec,
            },
        }
        created: Obj = await self.client.create(CRON_JOBS, body, namespace=self.ns)
        return created

    async def get(self, name: str) -> Obj:
        found: Obj = await self.client.get(CRON_JOBS, name, namespace=self.ns)
        return found

    async def jobs(self) -> dict[str, Obj]:
        listed = await self.client.list(JOBS, namespace=self.ns)
        return {j["metadata"]["name"]: j for j in listed.get("items") or []}

    def next_minute(self) -> datetime:
        wall = self.clock.wall()
        return wall.replace(second=0, microsecond=0) + timedelta(minutes=1)

    async def fire(self, name: str, count: int) -> datetime:
        """Jump just past the next minute; wait until ``count`` jobs exist."""
        minute = self.next_minute()
        self.clock.jump_to(minute + timedelta(seconds=1))

        async def created() -> bool:
            return len(await self.jobs()) >= count

        await eventually(created, f"{count} jobs of {name}")
        return minute

    async def finish(self, job: str, condition: str) -> None:
        now = self.clock.wall().strftime("%Y-%m-%dT%H:%M:%SZ")
        status: Obj = {
            "startTime": now,
            "conditions": [{"type": condition, "status": "True", "lastTransitionTime": now}],
        }
        if condition == "Complete":
            status["completionTime"] = now
        await self.client.patch(
            JOBS, job, {"status": status}, namespace=self.ns, subresource="status"
        )


@pytest.fixture
async def cron(server: CorralServer) -> AsyncIterator[Cron]:
    clock = ShiftedClock()
    async with Client.from_kubeconfig(server.kubeconfig_path) as client:
        ctx = new_context(client, clock=clock, now=clock.wall)
        async with running(ctx, cronjob.build(ctx)):
            yield Cron(client, clock, await new_namespace(client, "cron-"))


def job_names(cj: Obj, minute: datetime) -> str:
    return f"{cj['metadata']['name']}-{int(minute.timestamp()) // 60}"


async def test_a_job_is_created_when_the_wall_clock_passes_the_minute(cron: Cron) -> None:
    cj = await cron.create("tick", timeZone="Asia/Kolkata")
    assert await cron.jobs() == {}
    minute = await cron.fire("tick", 1)
    jobs = await cron.jobs()
    name = job_names(cj, minute)
    assert list(jobs) == [name]
    job = jobs[name]
    annotation = job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
    assert (
        annotation == minute.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Kolkata")).isoformat()
    )
    assert annotation.endswith("+05:30")
    assert job["metadata"]["labels"]["from"] == "tick"
    assert job["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "name": "tick",
            "uid": cj["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]

    async def status() -> Obj | None:
        found = (await cron.get("tick")).get("status") or {}
        return found if found.get("active") else None

    found = await eventually(status, "status.active")
    assert found["lastScheduleTime"] == minute.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [ref["name"] for ref in found["active"]] == [name]
    assert found["active"][0]["uid"] == job["metadata"]["uid"]
    assert ("Normal", "SuccessfulCreate", f"Created job {name}") in await eventually(
        lambda: events(cron.client, cron.ns, "tick"), "the SuccessfulCreate event"
    )

    await cron.finish(name, "Complete")

    async def saw_completion() -> Obj | None:
        found = (await cron.get("tick")).get("status") or {}
        return found if not found.get("active") and found.get("lastSuccessfulTime") else None

    await eventually(saw_completion, "the completed job leaves status.active")


async def test_forbid_skips_runs_while_one_is_active(cron: Cron) -> None:
    cj = await cron.create("solo", concurrencyPolicy="Forbid")
    first = await cron.fire("solo", 1)

    async def active() -> list[str]:
        refs = ((await cron.get("solo")).get("status") or {}).get("active") or []
        return [ref["name"] for ref in refs]

    await eventually(active, "the first job active")
    for skips in (1, 2):  # two more firings while the first job runs
        cron.clock.jump_to(cron.next_minute() + timedelta(seconds=1))

        async def skipped(n: int = skips) -> bool:
            return await event_count(cron.client, cron.ns, "solo", "JobAlreadyActive") >= n

        await eventually(skipped, f"JobAlreadyActive event #{skips}")
        assert list(await cron.jobs()) == [job_names(cj, first)]
    latest = cron.next_minute() - timedelta(minutes=1)
    await cron.finish(job_names(cj, first), "Complete")

    # As in Kubernetes, the most recent missed firing starts late once nothing
    # runs (no startingDeadlineSeconds); the one before it is skipped for good.
    async def late_start() -> list[str]:
        names = await active()
        return names if names == [job_names(cj, latest)] else []

    await eventually(late_start, "the latest missed run started")
    assert sorted(await cron.jobs()) == sorted([job_names(cj, first), job_names(cj, latest)])


async def test_replace_deletes_the_running_job(cron: Cron) -> None:
    cj = await cron.create("swap", concurrencyPolicy="Replace")
    first = await cron.fire("swap", 1)

    async def active_names() -> list[str]:
        refs = ((await cron.get("swap")).get("status") or {}).get("active") or []
        return [ref["name"] for ref in refs]

    await eventually(active_names, "the first job active")
    second = cron.next_minute()
    cron.clock.jump_to(second + timedelta(seconds=1))

    async def replaced() -> bool:
        return list(await cron.jobs()) == [job_names(cj, second)]

    await eventually(replaced, "the first job replaced by the second")
    assert await active_names() == [job_names(cj, second)]
    assert job_names(cj, first) != job_names(cj, second)


async def test_history_limits_prune_the_oldest_finished_jobs(cron: Cron) -> None:
    cj = await cron.create("hist", successfulJobsHistoryLimit=1, failedJobsHistoryLimit=1)
    runs = []
    for count, outcome in enumerate(("Complete", "Failed", "Complete", "Failed"), start=1):
        minute = await cron.fire("hist", min(count, 3))
        name = job_names(cj, minute)
        await eventually(lambda n=name: _exists(cron, n), f"job {name}")  # type: ignore[misc]
        runs.append(name)
        cron.clock.jump(1)  # distinct start times
        await cron.finish(name, outcome)

    async def pruned() -> bool:
        return sorted(await cron.jobs()) == sorted(runs[2:])

    await eventually(pruned, "only the newest finished job of each kind kept")
    deleted = [e for e in await events(cron.client, cron.ns, "hist") if e[1] == "SuccessfulDelete"]
    assert {e[2] for e in deleted} == {f"Deleted job {n}" for n in runs[:2]}


async def _exists(cron: Cron, name: str) -> bool:
    try:
        await cron.client.get(JOBS, name, namespace=cron.ns)
    except NotFound:
        return False
    return True


async def test_suspended_cronjob_creates_nothing(cron: Cron) -> None:
    await cron.create("idle", suspend=True)
    cron.clock.jump_to(cron.next_minute() + timedelta(minutes=2, seconds=1))
    await cron.create("busy")  # a witness: once it has a job, the idle one was synced too
    cron.clock.jump_to(cron.next_minute() + timedelta(seconds=1))

    async def witness() -> bool:
        return any(n.startswith("busy-") for n in await cron.jobs())

    await eventually(witness, "the witness job")
    assert not any(n.startswith("idle-") for n in await cron.jobs())
