"""Delayed adds: ordering, coalescing, the bound, shutdown, and one real-time run."""

from __future__ import annotations

import asyncio
import time

import pytest

from corral.controller import FakeClock, QueueFullError, WorkQueue


def make(max_queued: int = 1000, max_waiting: int = 1000) -> tuple[WorkQueue[str], FakeClock]:
    clock = FakeClock()
    return WorkQueue(clock=clock, max_queued=max_queued, max_waiting=max_waiting), clock


async def drain(q: WorkQueue[str]) -> list[str]:
    out = []
    while len(q):
        key = await q.get()
        q.done(key)
        out.append(key)
    return out


async def test_keys_come_out_in_ready_order() -> None:
    q, clock = make()
    q.add_after("late", 3)
    q.add_after("early", 1)
    q.add_after("middle", 2)
    q.add_after("tie", 2)
    assert (len(q), q.waiting) == (0, 4)
    clock.advance(1)
    assert await drain(q) == ["early"]
    clock.advance(5)
    assert await drain(q) == ["middle", "tie", "late"]
    assert q.waiting == 0


async def test_a_shorter_later_delay_wins_and_a_longer_one_is_ignored() -> None:
    q, clock = make()
    q.add_after("a", 10)
    q.add_after("a", 2)  # earlier: wins
    q.add_after("a", 5)  # later than what is pending: ignored
    assert q.waiting == 1
    clock.advance(2)
    assert await drain(q) == ["a"]
    clock.advance(20)
    assert len(q) == 0, "the superseded times add nothing"
    assert clock.pending == 0, "no timer is left behind"


async def test_non_positive_delay_adds_now() -> None:
    q, _ = make()
    q.add_after("a", 0)
    q.add_after("b", -1)
    assert await drain(q) == ["a", "b"]


async def test_due_key_already_queued_is_coalesced() -> None:
    q, clock = make()
    q.add("a")
    q.add_after("a", 1)
    clock.advance(1)
    assert len(q) == 1
    assert q.waiting == 0


async def test_one_timer_for_many_waiting_keys() -> None:
    q, clock = make()
    for i in range(100):
        q.add_after(f"k{i}", 100 - i)
    assert clock.pending <= 100
    clock.advance(100)
    assert len(q) == 100
    assert (await drain(q))[:3] == ["k99", "k98", "k97"]


async def test_waiting_keys_are_bounded() -> None:
    q, clock = make(max_waiting=2)
    q.add_after("a", 1)
    q.add_after("b", 1)
    q.add_after("a", 0.5)  # known key: accepted
    with pytest.raises(QueueFullError):
        q.add_after("c", 1)
    clock.advance(1)
    q.add_after("c", 1)
    assert len(q) == 2


async def test_due_key_waits_while_the_queue_is_full_and_is_not_lost() -> None:
    q, clock = make(max_queued=1)
    q.add("a")
    q.add_after("b", 1)
    q.add_after("c", 2)
    clock.advance(5)
    assert (len(q), q.waiting) == (1, 2)
    assert await q.get() == "a"  # room: "b" moves in
    assert (len(q), q.waiting) == (1, 1)
    assert await q.get() == "b"
    assert await q.get() == "c"
    assert q.waiting == 0


async def test_shutdown_drops_delayed_keys_and_ignores_new_ones() -> None:
    q, clock = make()
    q.add_after("a", 1)
    q.shutdown()
    q.add_after("b", 1)
    q.add_rate_limited("c")
    assert q.waiting == 0
    clock.advance(10)
    assert len(q) == 0
    assert clock.pending == 0


async def test_real_clock_delays_in_milliseconds() -> None:
    q: WorkQueue[str] = WorkQueue()
    start = time.monotonic()
    q.add_after("slow", 0.03)
    q.add_after("fast", 0.01)
    got = [await asyncio.wait_for(q.get(), 2), await asyncio.wait_for(q.get(), 2)]
    assert got == ["fast", "slow"]
    assert time.monotonic() - start >= 0.03
    q.shutdown()
