"""Property tests: WorkQueue against a simple model, and workers racing on keys.

The model is the specification in a few lines: a FIFO list of queued keys,
the dirty and processing sets, and the delayed keys with their ready time.
Hypothesis drives random interleavings of add / get / done / add_after /
clock advances; after every step the queue must agree with the model.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from corral.controller import FakeClock, QueueShutDown, WorkQueue

KEYS = st.sampled_from(["a", "b", "c", "d", "e"])
FEW_KEYS = st.sampled_from(["a", "b"])

OPS = st.one_of(
    st.tuples(st.just("add"), KEYS),
    st.tuples(st.just("get"), st.just("")),
    st.tuples(st.just("done"), st.integers(0, 4)),
    st.tuples(st.just("add_after"), FEW_KEYS, st.integers(-1, 5)),
    st.tuples(st.just("add_after"), FEW_KEYS, st.integers(1, 5)),
    st.tuples(st.just("advance"), st.integers(0, 3)),
)


@dataclass
class Model:
    now: float
    queue: list[str] = field(default_factory=list)
    dirty: set[str] = field(default_factory=set)
    processing: list[str] = field(default_factory=list)
    delayed: dict[str, tuple[float, int]] = field(default_factory=dict)
    seq: int = 0

    def add(self, key: str) -> None:
        if key in self.dirty:
            return
        self.dirty.add(key)
        if key not in self.processing:
            self.queue.append(key)

    def get(self) -> str:
        key = self.queue.pop(0)
        self.dirty.discard(key)
        self.processing.append(key)
        return key

    def done(self, key: str) -> None:
        self.processing.remove(key)
        if key in self.dirty:
            self.queue.append(key)

    def add_after(self, key: str, delay: int) -> None:
        if delay <= 0:
            self.add(key)
            return
        ready = self.now + delay
        if key in self.delayed and self.delayed[key][0] <= ready:
            return
        self.seq += 1
        self.delayed[key] = (ready, self.seq)

    def advance(self, seconds: int) -> None:
        self.now += seconds
        due = sorted((v, k) for k, v in self.delayed.items() if v[0] <= self.now)
        for _, key in due:
            del self.delayed[key]
            self.add(key)


async def run_against_model(ops: list[tuple[object, ...]]) -> None:
    clock = FakeClock()
    q: WorkQueue[str] = WorkQueue(clock=clock)
    model = Model(now=clock.now())
    for op in ops:
        match op:
            case ("add", str(key)):
                q.add(key)
                model.add(key)
            case ("get", _):
                if model.queue:
                    expected = model.get()
                    assert await asyncio.wait_for(q.get(), 1) == expected
            case ("done", int(index)):
                if model.processing:
                    key = model.processing[index % len(model.processing)]
                    q.done(key)
                    model.done(key)
            case ("add_after", str(key), int(delay)):
                q.add_after(key, delay)
                model.add_after(key, delay)
            case ("advance", int(seconds)):
                clock.advance(seconds)
                model.advance(seconds)
        assert len(q) == len(model.queue)
        assert q.processing == frozenset(model.processing)
        assert q.waiting == len(model.delayed)
    # What is left comes out in the model's order.
    while model.queue:
        assert await asyncio.wait_for(q.get(), 1) == model.get()
    q.shutdown()
    assert q.waiting == 0


@given(st.lists(OPS, max_size=60))
def test_queue_agrees_with_model(ops: list[tuple[object, ...]]) -> None:
    asyncio.run(run_against_model(ops))


async def race(adds: list[tuple[str, int]], work_steps: list[int], workers: int) -> None:
    """Workers yield a random number of times while holding a key; adds interleave."""
    q: WorkQueue[str] = WorkQueue(clock=FakeClock())
    in_flight: set[str] = set()
    clock = 0
    last_add: dict[str, int] = {}
    last_start: dict[str, int] = {}
    steps = iter(work_steps * 1000)

    async def worker() -> None:
        nonlocal clock
        while True:
            try:
                key = await q.get()
            except QueueShutDown:
                return
            assert key not in in_flight, f"{key} handed to two workers at once"
            in_flight.add(key)
            clock += 1
            last_start[key] = clock
            for _ in range(next(steps, 0)):
                await asyncio.sleep(0)
            in_flight.remove(key)
            q.done(key)

    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    for key, pause in adds:
        clock += 1
        last_add[key] = clock
        q.add(key)
        for _ in range(pause):
            await asyncio.sleep(0)
    await asyncio.wait_for(q.shutdown_with_drain(), 5)
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    for key, added in last_add.items():
        assert last_start[key] > added, f"{key} was added after its last processing started"


@given(
    st.lists(st.tuples(KEYS, st.integers(0, 3)), min_size=1, max_size=40),
    st.lists(st.integers(0, 3), min_size=1, max_size=10),
    st.integers(1, 4),
)
def test_workers_never_share_a_key_and_every_add_is_processed(
    adds: list[tuple[str, int]], work_steps: list[int], workers: int
) -> None:
    asyncio.run(race(adds, work_steps, workers))
