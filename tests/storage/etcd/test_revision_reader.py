"""Concurrent reads of etcd's revision share a round trip, never an older one."""

from __future__ import annotations

import asyncio

import pytest

from corral.storage.etcd.revision import RevisionReader


async def test_callers_share_the_next_round_trip_never_one_already_sent() -> None:
    sent: asyncio.Queue[asyncio.Future[int]] = asyncio.Queue()
    count = 0

    async def fetch() -> int:
        nonlocal count
        count += 1
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        sent.put_nowait(answer)
        return await answer

    reader = RevisionReader(fetch)
    early = [asyncio.create_task(reader.read()) for _ in range(5)]
    first = await asyncio.wait_for(sent.get(), 5)
    # Arrives while the first request is in flight: it must wait for a new one.
    late = asyncio.create_task(reader.read())
    await asyncio.sleep(0)
    first.set_result(10)
    assert await asyncio.gather(*early) == [10] * 5
    second = await asyncio.wait_for(sent.get(), 5)
    assert not late.done()
    second.set_result(11)
    assert await late == 11
    assert count == 2
    await reader.close()


async def test_a_failure_reaches_the_callers_of_that_round() -> None:
    async def fetch() -> int:
        raise ConnectionError("etcd down")

    reader = RevisionReader(fetch)
    with pytest.raises(ConnectionError):
        await reader.read()
    await reader.close()
