"""The controller manager: which controllers run, and only while leading."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from corral.client import Client
from corral.kube import manager
from corral.kube.context import KubeContext, Runnable
from corral.kube.manager import ControllerManager, LeaseTimings, enabled_controllers
from inprocess import inprocess_api

FAST = LeaseTimings(duration=2.0, renew_deadline=1.5, retry_period=0.1)


def test_controllers_spec_follows_kube_controller_manager_syntax() -> None:
    every = list(manager.CONTROLLERS)
    assert enabled_controllers("*") == every
    assert enabled_controllers("*,-garbagecollector") == [
        n for n in every if n != "garbagecollector"
    ]
    assert enabled_controllers("scheduler,namespace") == [
        n for n in every if n in ("scheduler", "namespace")
    ]
    assert enabled_controllers("") == []
    assert enabled_controllers("-*") == []
    with pytest.raises(ValueError, match="unknown controller 'nope'"):
        enabled_controllers("*,-nope")


class Recorder:
    """A controller that records its lifecycle."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self._stop = asyncio.Event()

    async def run(self) -> None:
        self.log.append("run")
        await self._stop.wait()

    async def stop(self) -> None:
        self.log.append("stop")
        self._stop.set()


@pytest.fixture
async def client_for() -> AsyncIterator[tuple[Client, Client]]:
    async with inprocess_api() as api:
        one, two = api.client_for("system:one"), api.client_for("system:two")
        yield one, two
        await one.close()
        await two.close()


async def wait_for(predicate: object, within: float = 10) -> None:
    async with asyncio.timeout(within):
        while not predicate():  # type: ignore[operator]  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_only_the_leader_runs_controllers_and_a_standby_takes_over(
    client_for: tuple[Client, Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = client_for
    logs: dict[int, list[str]] = {id(one): [], id(two): []}

    def builder(ctx: KubeContext) -> list[Runnable]:
        return [Recorder(logs[id(ctx.client)])]

    monkeypatch.setattr(manager, "CONTROLLERS", {"recorder": builder})
    first = ControllerManager(one, controllers=["recorder"], lease=FAST, identity="a")
    second = ControllerManager(two, controllers=["recorder"], lease=FAST, identity="b")
    first.start()
    await wait_for(lambda: logs[id(one)] == ["run"])
    second.start()
    await asyncio.sleep(FAST.retry_period * 5)
    assert logs[id(two)] == []  # the standby runs nothing
    await first.stop()  # stops its controllers, then releases the lease
    assert logs[id(one)] == ["run", "stop"]
    await wait_for(lambda: logs[id(two)] == ["run"], within=FAST.duration + 2)
    await second.stop()
    assert logs[id(two)] == ["run", "stop"]
