"""Contract: watches replay history, then follow live writes, and end cleanly."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from corral.storage import (
    Backend,
    BackendClosedError,
    CompactedError,
    Event,
    EventType,
    FutureRevisionError,
    StorageOptions,
    WatchOverflowError,
)
from corral.storage import watch as watch_module

from ..helpers import FAST, BackendFactory, collect, drain, take


def summary(events: list[Event]) -> list[tuple[EventType, str, bytes, int]]:
    return [(e.type, e.kv.key, e.kv.value, e.revision) for e in events]


async def test_watch_replays_history_then_continues_live(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch_module, "HISTORY_PAGE", 3)  # several history pages
    start = await backend.create("/w/a", b"a1")
    b = await backend.create("/w/b", b"b1")
    a2 = await backend.update("/w/a", b"a2", expected_revision=start.mod_revision)
    deleted = await backend.delete("/w/b")
    c = await backend.create("/w/c", b"c1")
    watch = backend.watch("/w/", revision=start.mod_revision)
    history = await take(watch, 4)
    assert summary(history) == [
        (EventType.CREATE, "/w/b", b"b1", b.mod_revision),
        (EventType.UPDATE, "/w/a", b"a2", a2.mod_revision),
        (EventType.DELETE, "/w/b", b"b1", deleted.mod_revision),
        (EventType.CREATE, "/w/c", b"c1", c.mod_revision),
    ]
    assert [e.prev_revision for e in history] == [0, start.mod_revision, b.mod_revision, 0]
    live = await backend.update("/w/c", b"c2", expected_revision=c.mod_revision)
    (event,) = await take(watch, 1)
    assert event.type is EventType.UPDATE
    assert event.kv == live
    assert event.prev_revision == c.mod_revision


async def test_watch_sees_every_write_exactly_once_while_writes_continue(
    backend: Backend,
) -> None:
    first = await backend.create("/x/00", b"0")
    watch = backend.watch("/x/", revision=first.mod_revision)
    # Committed after the watch subscribed but before it reads history: these
    # are both in the history and in its live buffer, and must come once.
    for i in range(1, 10):
        await backend.create(f"/x/{i:02d}", b"v")

    async def writer() -> None:
        for i in range(10, 60):
            await backend.create(f"/x/{i:02d}", b"v")

    task = asyncio.create_task(writer())
    events = await take(watch, 59)
    await task
    assert [e.kv.key for e in events] == [f"/x/{i:02d}" for i in range(1, 60)]
    revisions = [e.revision for e in events]
    assert revisions == sorted(set(revisions))
    assert await backend.current_revision() == revisions[-1]


async def test_watch_sees_only_its_prefix(backend: Backend) -> None:
    watch = backend.watch("/mine/", revision=0)
    await backend.create("/other/1", b"x")
    await backend.create("/mine", b"x")
    await backend.create("/mine/1", b"x")
    await backend.create("/minefield/1", b"x")
    await backend.create("/mine/2", b"x")
    assert [e.kv.key for e in await take(watch, 2)] == ["/mine/1", "/mine/2"]


async def test_watch_from_zero_starts_now(backend: Backend) -> None:
    await backend.create("/n/old", b"x")
    watch = backend.watch("/n/", revision=0)
    new = await backend.create("/n/new", b"x")
    (event,) = await take(watch, 1)
    assert event.kv == new


async def test_watch_from_a_future_revision_is_refused(backend: Backend) -> None:
    await backend.create("/k", b"x")
    watch = backend.watch("/", revision=await backend.current_revision() + 1)
    with pytest.raises(FutureRevisionError):
        await anext(watch)


async def test_watch_from_before_the_compaction_point_is_refused(backend: Backend) -> None:
    first = await backend.create("/k", b"1")
    second = await backend.update("/k", b"2", expected_revision=first.mod_revision)
    third = await backend.update("/k", b"3", expected_revision=second.mod_revision)
    await backend.compact(second.mod_revision)
    with pytest.raises(CompactedError) as caught:
        await anext(backend.watch("/", revision=first.mod_revision))
    assert caught.value.compacted == second.mod_revision
    # From exactly the compaction point is fine: it needs only later events.
    (event,) = await take(backend.watch("/", revision=second.mod_revision), 1)
    assert event.kv == third


async def test_slow_watcher_is_cut_off_and_fast_one_gets_everything(
    make_backend: BackendFactory,
) -> None:
    options = StorageOptions(ttl_sweep_interval=0.05, compact_interval=0, watch_buffer=8)
    backend = await make_backend(options)
    slow = backend.watch("/s/", revision=0)
    fast = backend.watch("/s/", revision=0)
    received: list[Event] = []

    async def consume() -> None:
        async for event in fast:
            received.append(event)
            if len(received) == 40:
                return

    consumer = asyncio.create_task(consume())
    for i in range(40):
        await backend.create(f"/s/{i:02d}", b"v")
    async with asyncio.timeout(5):
        await consumer
    assert [e.kv.key for e in received] == [f"/s/{i:02d}" for i in range(40)]

    got: list[Event] = []
    with pytest.raises(WatchOverflowError) as caught:
        await collect(slow, got)
    assert 0 < len(got) <= 8
    assert [e.kv.key for e in got] == [f"/s/{i:02d}" for i in range(len(got))]
    assert caught.value.last_revision == got[-1].revision


async def test_close_ends_watches(make_backend: BackendFactory) -> None:
    backend = await make_backend(FAST)
    waiting = backend.watch("/", revision=0)
    pending = asyncio.create_task(drain(waiting))
    await backend.create("/k", b"v")
    buffered = backend.watch("/", revision=0)
    last = await backend.create("/j", b"v")
    await backend.close()
    events = await pending
    assert [e.kv.key for e in events] == ["/k", "/j"]
    assert [e.kv for e in await drain(buffered)] == [last]
    with pytest.raises(BackendClosedError):
        await anext(backend.watch("/", revision=0))


async def test_progress_is_known_only_when_live_and_drained(backend: Backend) -> None:
    """`EventStream.progress`: unknown while history or buffered events remain unread;
    once the reader waits for live events with nothing buffered, it is the newest
    revision written, even when that write was under another prefix."""
    first = await backend.create("/p/a", b"1")
    second = await backend.create("/p/b", b"2")
    watch = backend.watch("/p/", revision=first.mod_revision)
    assert watch.progress() is None  # history not read yet
    seen: list[int] = []

    async def read() -> None:
        async for event in watch:
            seen.append(event.revision)

    reader = asyncio.create_task(read())
    try:
        async with asyncio.timeout(5):
            while watch.progress() is None:  # noqa: ASYNC110 (polling with a deadline)
                await asyncio.sleep(0.001)
        assert seen == [second.mod_revision]
        assert watch.progress() == second.mod_revision
        elsewhere = await backend.create("/elsewhere/x", b"3")
        assert watch.progress() == elsewhere.mod_revision == await backend.current_revision()
        mine = await backend.create("/p/c", b"4")
        if mine.mod_revision not in seen:  # published but not read yet: not known
            assert watch.progress() is None
        async with asyncio.timeout(5):
            while watch.progress() != mine.mod_revision:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
        assert seen == [second.mod_revision, mine.mod_revision]
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await watch.aclose()
