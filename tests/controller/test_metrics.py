"""Work-queue metrics: values by queue name, scrape-time gauges, one registration."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import REGISTRY, generate_latest

from corral.controller import FakeClock, QueueFullError, WorkQueue


def sample(metric: str, name: str) -> float:
    value = REGISTRY.get_sample_value(metric, {"name": name})
    return 0.0 if value is None else value


@pytest.fixture
def name() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


async def test_counts_depth_adds_and_latencies(name: str) -> None:
    clock = FakeClock()
    q: WorkQueue[str] = WorkQueue(name, clock=clock, max_queued=3)
    for key in ("a", "b", "a", "c"):
        q.add(key)
    assert sample("corral_workqueue_depth", name) == 3
    assert sample("corral_workqueue_adds_total", name) == 3
    with pytest.raises(QueueFullError):
        q.add("d")
    assert sample("corral_workqueue_rejected_total", name) == 1

    clock.advance(2)
    assert await q.get() == "a"
    assert sample("corral_workqueue_depth", name) == 2
    assert sample("corral_workqueue_queue_duration_seconds_count", name) == 1
    assert sample("corral_workqueue_queue_duration_seconds_sum", name) == 2

    clock.advance(3)
    assert await q.get() == "b"
    clock.advance(1)
    assert sample("corral_workqueue_unfinished_work_seconds", name) == 4 + 1
    assert sample("corral_workqueue_longest_running_processor_seconds", name) == 4
    q.done("a")
    q.done("b")
    assert sample("corral_workqueue_work_duration_seconds_count", name) == 2
    assert sample("corral_workqueue_work_duration_seconds_sum", name) == 4 + 1
    assert sample("corral_workqueue_unfinished_work_seconds", name) == 0
    assert sample("corral_workqueue_longest_running_processor_seconds", name) == 0


async def test_retries_count_delayed_adds(name: str) -> None:
    clock = FakeClock()
    q: WorkQueue[str] = WorkQueue(name, clock=clock)
    q.add_rate_limited("a")
    q.add_after("b", 1)
    q.add_after("c", 0)
    assert sample("corral_workqueue_retries_total", name) == 3
    assert sample("corral_workqueue_adds_total", name) == 1
    clock.advance(1)
    assert sample("corral_workqueue_adds_total", name) == 3
    assert sample("corral_workqueue_depth", name) == 3


async def test_many_queues_register_once_and_share_a_name(name: str) -> None:
    queues = [WorkQueue[str](name, clock=FakeClock()) for _ in range(50)]
    for q in queues:
        q.add("x")
    assert sample("corral_workqueue_adds_total", name) == 50
    assert sample("corral_workqueue_depth", name) == 50
    text = generate_latest(REGISTRY).decode()
    assert text.count("# TYPE corral_workqueue_unfinished_work_seconds gauge") == 1


async def test_unnamed_queue_records_nothing() -> None:
    before = generate_latest(REGISTRY).decode().count('name=""')
    q: WorkQueue[str] = WorkQueue(clock=FakeClock())
    q.add("a")
    await q.get()
    assert generate_latest(REGISTRY).decode().count('name=""') == before == 0
