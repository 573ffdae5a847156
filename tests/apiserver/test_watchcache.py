"""The watch cache: initial state, ordered events, the ring and its expiry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from corral.apiserver.watchcache import ADDED, DELETED, MODIFIED, WatchCache
from corral.machinery.status import Expired
from corral.storage import MemoryBackend

PREFIX = "/registry/core/configmaps/"


@pytest.fixture
async def backend() -> AsyncIterator[MemoryBackend]:
    b = MemoryBackend()
    await b.start()
    yield b
    await b.close()


async def wait_for_revision(cache: WatchCache, revision: int) -> None:
    async with asyncio.timeout(5):
        while cache.revision < revision:  # noqa: ASYNC110 (polling with a deadline)
            await asyncio.sleep(0.001)


async def test_snapshot_events_and_ring_expiry(backend: MemoryBackend) -> None:
    first = await backend.create(PREFIX + "ns/a", b'{"metadata":{"name":"a"}}')
    cache = WatchCache(backend, PREFIX, ring_size=3)
    cache.start()
    try:
        await asyncio.wait_for(cache.synced.wait(), 5)
        items, at = cache.snapshot(PREFIX)
        assert [o.key for o in items] == [PREFIX + "ns/a"]
        assert at == first.mod_revision
        assert items[0].obj["metadata"] == {"name": "a", "resourceVersion": str(at)}

        watcher, initial, _ = cache.watch(PREFIX, None)
        assert [e.type for e in initial] == [ADDED]
        b = await backend.create(PREFIX + "ns/b", b'{"metadata":{"name":"b"}}')
        await backend.update(
            PREFIX + "ns/a", b'{"metadata":{"name":"a"},"x":1}', expected_revision=at
        )
        last = await backend.delete(PREFIX + "ns/b")
        await wait_for_revision(cache, last.mod_revision)
        got = [watcher.queue.get_nowait() for _ in range(3)]
        assert [(e.type, e.object.key[-1]) for e in got if e] == [
            (ADDED, "b"),
            (MODIFIED, "a"),
            (DELETED, "b"),
        ]
        watcher.close()

        _, resumed, _ = cache.watch(PREFIX, b.mod_revision)
        assert [e.type for e in resumed] == [MODIFIED, DELETED]
        for i in range(3):
            await backend.create(PREFIX + f"ns/c{i}", b'{"metadata":{"name":"c"}}')
        await wait_for_revision(cache, last.mod_revision + 3)
        with pytest.raises(Expired):
            cache.watch(PREFIX, b.mod_revision)
    finally:
        await cache.stop()


async def test_slow_watcher_is_closed(backend: MemoryBackend) -> None:
    cache = WatchCache(backend, PREFIX)
    cache.start()
    try:
        await asyncio.wait_for(cache.synced.wait(), 5)
        watcher, _, _ = cache.watch(PREFIX, None)
        import corral.apiserver.watchcache as wc

        for i in range(wc.WATCHER_QUEUE_SIZE + 1):
            await backend.create(PREFIX + f"ns/k{i:05d}", b'{"metadata":{"name":"k"}}')
        await wait_for_revision(cache, wc.WATCHER_QUEUE_SIZE + 1)
        assert watcher.closed
    finally:
        await cache.stop()


async def test_watch_from_a_revision_ahead_of_the_cache(backend: MemoryBackend) -> None:
    cache = WatchCache(backend, PREFIX)
    cache.start()
    try:
        await asyncio.wait_for(cache.synced.wait(), 5)
        ahead = cache.revision + 1
        # The client read revision `ahead` from storage before the cache saw it.
        watcher, initial, at = cache.watch(PREFIX, ahead)
        assert initial == []
        assert at == ahead
        await backend.create(PREFIX + "ns/seen", b'{"metadata":{"name":"seen"}}')
        await backend.create(PREFIX + "ns/new", b'{"metadata":{"name":"new"}}')
        await wait_for_revision(cache, ahead + 1)
        got = watcher.queue.get_nowait()
        assert got is not None
        assert got.object.key == PREFIX + "ns/new"
        assert watcher.queue.empty()
    finally:
        await cache.stop()


async def test_progress_follows_writes_elsewhere_and_consistent_reads_wait(
    backend: MemoryBackend,
) -> None:
    """Writes under other prefixes advance the cache's progress without events;
    a consistent read waits until the cache has applied every write of its own."""
    cache = WatchCache(backend, PREFIX)
    cache.start()
    try:
        await asyncio.wait_for(cache.synced.wait(), 5)
        other = await backend.create("/registry/core/secrets/ns/s", b"{}")
        assert await cache.wait_until(other.mod_revision, 5)
        assert cache.revision < other.mod_revision <= cache.progress()
        assert cache.snapshot(PREFIX) == ([], cache.progress())

        # Many writes at once: a consistent read at the current revision sees all of them.
        created = await asyncio.gather(
            *(backend.create(PREFIX + f"ns/c{i}", b"{}") for i in range(50))
        )
        target = await backend.current_revision()
        assert target == max(kv.mod_revision for kv in created)
        assert await cache.wait_until(target, 5)
        items, at = cache.snapshot(PREFIX)
        assert len(items) == 50
        assert at >= target
    finally:
        await cache.stop()


async def test_wait_until_gives_up_at_its_deadline(backend: MemoryBackend) -> None:
    cache = WatchCache(backend, PREFIX)
    cache.start()
    try:
        await asyncio.wait_for(cache.synced.wait(), 5)
        future = await backend.current_revision() + 10  # never written
        assert not await cache.wait_until(future, 0.05)
    finally:
        await cache.stop()
