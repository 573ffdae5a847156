"""Leader election on a real Lease: one leader at a time, hand-over on a clean stop,
and work cancelled when another identity takes the lease. Short timings (lease
1 s, renew deadline 0.6 s, retry 0.1 s); waits are events and polls with deadlines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from corral.client import Client
from corral.controller import LEASES, LeaderElector
from corral.controller.leaderelection import micro_time
from serverproc import CorralServer, module_server

from .live import eventually, new_namespace

LEASE, RENEW, RETRY = 1.0, 0.6, 0.1


server = module_server("leader")


@pytest.fixture
async def client(server: CorralServer) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(server.kubeconfig_path) as c:
        yield c


class Candidate:
    """An elector whose work records whether it is running."""

    def __init__(self, client: Client, ns: str, identity: str, *, release: bool = True) -> None:
        self.working = False
        self.cancelled = asyncio.Event()
        self.elector = LeaderElector(
            client,
            ns,
            "lock",
            identity,
            lease_duration=LEASE,
            renew_deadline=RENEW,
            retry_period=RETRY,
            release_on_stop=release,
        )
        self.task = asyncio.create_task(self.elector.run(self._work))

    async def _work(self) -> None:
        self.working = True
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        finally:
            self.working = False

    async def stop(self) -> None:
        await self.elector.stop()
        await asyncio.wait_for(self.task, 5)


async def test_one_leader_and_hand_over_on_clean_stop(client: Client) -> None:
    ns = await new_namespace(client)
    a, b = Candidate(client, ns, "a"), Candidate(client, ns, "b")
    try:
        await eventually(lambda: a.working or b.working)
        leader, standby = (a, b) if a.working else (b, a)
        # for a few renewals, still exactly one
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            assert leader.elector.is_leader
            assert not standby.elector.is_leader
            assert not standby.working
            await asyncio.sleep(0.05)
        lease = await client.get(LEASES, "lock", namespace=ns)
        assert lease["spec"]["holderIdentity"] == leader.elector.identity
        transitions = lease["spec"]["leaseTransitions"]

        await leader.stop()
        assert leader.cancelled.is_set()
        assert not leader.working
        # released: the lease names no holder, so the standby need not wait for it to expire
        released = await client.get(LEASES, "lock", namespace=ns)
        assert not released["spec"].get("holderIdentity")
        await eventually(lambda: standby.working, deadline=5)
        lease = await client.get(LEASES, "lock", namespace=ns)
        assert lease["spec"]["holderIdentity"] == standby.elector.identity
        assert lease["spec"]["leaseTransitions"] == transitions + 1
    finally:
        await a.stop()
        await b.stop()
    lease = await client.get(LEASES, "lock", namespace=ns)
    assert not lease["spec"].get("holderIdentity")


async def test_losing_the_lease_cancels_the_work(client: Client) -> None:
    ns = await new_namespace(client)
    lost = asyncio.Event()
    candidate = Candidate(client, ns, "me")
    candidate.elector.on_stopped_leading = lost.set
    try:
        await eventually(lambda: candidate.working)
        lease = await client.get(LEASES, "lock", namespace=ns)
        stamp = micro_time()
        lease["spec"].update(
            holderIdentity="intruder",
            leaseDurationSeconds=60,
            acquireTime=stamp,
            renewTime=stamp,
        )
        await client.update(LEASES, lease)
        await asyncio.wait_for(candidate.cancelled.wait(), 3)
        await asyncio.wait_for(lost.wait(), 3)
        assert not candidate.elector.is_leader
        assert candidate.elector.observed_holder == "intruder"
    finally:
        await candidate.stop()
    # the intruder's lease is not "released" by someone who does not hold it
    lease = await client.get(LEASES, "lock", namespace=ns)
    assert lease["spec"]["holderIdentity"] == "intruder"


async def test_standby_takes_over_when_the_leader_stops_renewing(client: Client) -> None:
    ns = await new_namespace(client)
    leader = Candidate(client, ns, "first", release=False)  # like a crashed process
    await eventually(lambda: leader.working)
    standby = Candidate(client, ns, "second")
    try:
        await eventually(lambda: standby.elector.observed_holder == "first")
        stopped = time.monotonic()
        await leader.stop()
        await eventually(lambda: standby.working, deadline=5)
        took = time.monotonic() - stopped
        # not before the lease could have expired (the standby times it from the
        # last renewal it saw); the upper bound is eventually()'s deadline, loose
        # on purpose: a loaded CI machine only makes the takeover slower
        assert took > LEASE / 2
    finally:
        await leader.stop()
        await standby.stop()
