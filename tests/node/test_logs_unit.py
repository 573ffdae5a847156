"""Synthetic logs: the kubelet's options (tail, since, timestamps, limit, follow)."""

from __future__ import annotations

import asyncio

import pytest

from corral.node.logs import LogRequest, LogSource, log_lines
from corral.node.runtime import ContainerRun

T0 = 1_700_000_000.0


def source(finished: float | None = None, interval: float = 1.0) -> LogSource:
    run = ContainerRun("simulated://x", T0)
    if finished is not None:
        run.finish(finished, 0)
    return LogSource("ns", "p", "c", run, interval)


async def collect(src: LogSource, req: LogRequest, now: float) -> bytes:
    out = [c async for c in log_lines(src, req, stopped=asyncio.Event(), clock=lambda: now)]
    return b"".join(out)


def numbers(text: bytes) -> list[int]:
    return [int(line.rsplit(b" ", 1)[1]) for line in text.splitlines()]


async def test_lines_are_deterministic_one_per_interval() -> None:
    text = await collect(source(), LogRequest(), T0 + 4.5)
    assert text.splitlines()[0] == b"simulated container c of pod ns/p: line 1"
    assert numbers(text) == [1, 2, 3, 4, 5]
    assert text == await collect(source(), LogRequest(), T0 + 4.5)


async def test_tail_lines() -> None:
    assert numbers(await collect(source(), LogRequest(tail_lines=2), T0 + 9)) == [9, 10]
    assert await collect(source(), LogRequest(tail_lines=0), T0 + 9) == b""
    assert numbers(await collect(source(), LogRequest(tail_lines=50), T0 + 2)) == [1, 2, 3]


async def test_since_drops_older_lines_and_combines_with_tail() -> None:
    req = LogRequest(since=T0 + 6.5)
    assert numbers(await collect(source(), req, T0 + 9)) == [8, 9, 10]
    req = LogRequest(since=T0 + 3, tail_lines=2)
    assert numbers(await collect(source(), req, T0 + 9)) == [9, 10]


async def test_timestamps_are_rfc3339_with_nine_digits() -> None:
    text = await collect(source(), LogRequest(timestamps=True, tail_lines=1), T0 + 1)
    stamp, rest = text.split(b" ", 1)
    assert stamp == b"2023-11-14T22:13:21.000000000Z"
    assert rest == b"simulated container c of pod ns/p: line 2\n"


async def test_limit_bytes_cuts_the_output() -> None:
    text = await collect(source(), LogRequest(limit_bytes=60), T0 + 100)
    assert len(text) == 60
    assert text.startswith(b"simulated container c of pod ns/p: line 1\nsimulated")


async def test_a_finished_run_has_its_lines_only() -> None:
    assert numbers(await collect(source(finished=T0 + 2), LogRequest(), T0 + 100)) == [1, 2, 3]


async def test_follow_sends_new_lines_until_the_container_exits() -> None:
    src = source(interval=0.02)
    loop = asyncio.get_running_loop()
    start = loop.time()

    def clock() -> float:
        return T0 + (loop.time() - start)

    got: list[int] = []
    stream = log_lines(src, LogRequest(follow=True), stopped=asyncio.Event(), clock=clock)
    async for chunk in stream:
        got += numbers(chunk)
        if len(got) >= 5 and src.run.finished is None:
            src.run.finish(clock(), 0)
    assert got[:5] == [1, 2, 3, 4, 5]
    assert got == list(range(1, len(got) + 1))


async def test_follow_ends_when_the_node_stops_or_the_pod_goes() -> None:
    stopped = asyncio.Event()
    src = source(interval=10)
    stream = log_lines(src, LogRequest(follow=True), stopped=stopped, clock=lambda: T0)
    assert numbers(await anext(stream)) == [1]
    stopped.set()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(stream), 2)
    alive = [True]
    stream = log_lines(
        src,
        LogRequest(follow=True),
        stopped=asyncio.Event(),
        alive=lambda: alive[0],
        clock=lambda: T0,
    )
    assert numbers(await anext(stream)) == [1]
    alive[0] = False
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(stream), 15)
