"""WorkQueue: the dirty and processing sets, fairness, shutdown, drain, the bound."""

from __future__ import annotations

import asyncio

import pytest

from corral.controller import FakeClock, QueueFullError, QueueShutDown, WorkQueue


def queue(max_queued: int = 1000) -> WorkQueue[str]:
    return WorkQueue(clock=FakeClock(), max_queued=max_queued)


async def test_keys_come_out_in_order_and_once() -> None:
    q = queue()
    for key in ("a", "b", "a", "c", "b"):
        q.add(key)
    assert len(q) == 3
    assert [await q.get() for _ in range(3)] == ["a", "b", "c"]
    assert len(q) == 0
    assert q.processing == {"a", "b", "c"}


async def test_add_while_processing_is_processed_again_after_done_exactly_once() -> None:
    q = queue()
    q.add("a")
    assert await q.get() == "a"
    q.add("a")
    q.add("a")
    assert len(q) == 0, "a key being processed is not handed out again"
    q.done("a")
    assert len(q) == 1
    assert await q.get() == "a"
    q.done("a")
    assert len(q) == 0
    assert q.processing == frozenset()


async def test_done_of_a_key_not_processing_is_ignored() -> None:
    q = queue()
    q.add("a")
    q.done("a")
    q.done("zzz")
    assert len(q) == 1


async def test_get_waits_for_an_add() -> None:
    q = queue()
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    assert not getter.done()
    q.add("x")
    assert await asyncio.wait_for(getter, 1) == "x"


async def test_waiting_workers_are_served_in_order() -> None:
    q = queue()
    getters = [asyncio.create_task(q.get()) for _ in range(3)]
    await asyncio.sleep(0)
    for key in ("a", "b", "c"):
        q.add(key)
    assert await asyncio.wait_for(asyncio.gather(*getters), 1) == ["a", "b", "c"]


async def test_a_cancelled_getter_passes_its_wake_up_on() -> None:
    q = queue()
    first = asyncio.create_task(q.get())
    second = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add("a")  # wakes `first`...
    first.cancel()  # ...which is cancelled before it runs
    assert await asyncio.wait_for(second, 1) == "a"
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_concurrent_workers_never_share_a_key() -> None:
    q = queue()
    in_flight: set[str] = set()
    handled: list[str] = []

    async def worker() -> None:
        while True:
            try:
                key = await q.get()
            except QueueShutDown:
                return
            assert key not in in_flight
            in_flight.add(key)
            await asyncio.sleep(0)
            if len(handled) < 50:
                q.add(key)  # re-added while processing
            await asyncio.sleep(0)
            in_flight.remove(key)
            handled.append(key)
            q.done(key)

    workers = [asyncio.create_task(worker()) for _ in range(4)]
    for i in range(20):
        q.add(f"k{i % 5}")
        await asyncio.sleep(0)
    await asyncio.wait_for(q.shutdown_with_drain(), 2)
    await asyncio.wait_for(asyncio.gather(*workers), 2)
    assert set(handled) == {f"k{i}" for i in range(5)}


async def test_shutdown_hands_out_what_is_queued_then_raises() -> None:
    q = queue()
    q.add("a")
    q.shutdown()
    q.add("b")  # ignored
    assert q.shutting_down
    assert await q.get() == "a"
    with pytest.raises(QueueShutDown):
        await q.get()


async def test_shutdown_wakes_waiting_workers() -> None:
    q = queue()
    getters = [asyncio.create_task(q.get()) for _ in range(2)]
    await asyncio.sleep(0)
    q.shutdown()
    for result in await asyncio.gather(*getters, return_exceptions=True):
        assert isinstance(result, QueueShutDown)


async def test_key_dirty_at_shutdown_is_still_processed_after_done() -> None:
    q = queue()
    q.add("a")
    assert await q.get() == "a"
    q.add("a")
    q.shutdown()
    q.done("a")
    assert await q.get() == "a"
    q.done("a")
    with pytest.raises(QueueShutDown):
        await q.get()


async def test_shutdown_with_drain_waits_for_processing_keys() -> None:
    q = queue()
    q.add("a")
    q.add("b")
    assert await q.get() == "a"
    drain = asyncio.create_task(q.shutdown_with_drain())
    await asyncio.sleep(0)
    assert not drain.done()
    q.done("a")
    await asyncio.sleep(0)
    assert not drain.done(), "b is still queued"
    assert await q.get() == "b"
    await asyncio.sleep(0)
    assert not drain.done()
    q.done("b")
    await asyncio.wait_for(drain, 1)


async def test_shutdown_with_drain_of_an_idle_queue_returns_at_once() -> None:
    q = queue()
    await asyncio.wait_for(q.shutdown_with_drain(), 1)
    with pytest.raises(QueueShutDown):
        await q.get()


async def test_bound_refuses_new_keys_but_coalesces_known_ones() -> None:
    q = queue(max_queued=2)
    q.add("a")
    q.add("b")
    with pytest.raises(QueueFullError) as caught:
        q.add("c")
    assert caught.value.limit == 2
    q.add("a")  # already queued: fine
    assert len(q) == 2
    assert await q.get() == "a"
    q.add("c")  # room again
    with pytest.raises(QueueFullError):
        q.add("a")  # dirty while processing would count towards the bound
    assert [await q.get(), await q.get()] == ["b", "c"]
    q.add("a")  # dirty while processing: counts towards the bound
    q.add("d")
    with pytest.raises(QueueFullError):
        q.add("e")
    q.done("a")
    assert [await q.get(), await q.get()] == ["d", "a"]


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        WorkQueue(max_queued=0)
