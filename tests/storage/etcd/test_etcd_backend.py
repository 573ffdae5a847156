"""The etcd driver beyond the contract: several processes, native revisions, roots."""

from __future__ import annotations

import asyncio
import contextlib

import aetcd
import pytest

from corral.storage import (
    Backend,
    Event,
    EventType,
    KeyExistsError,
    RevisionMismatchError,
    open_backend,
)
from corral.storage.etcd import EtcdBackend

from ..helpers import FAST, eventually, take


async def test_a_write_through_one_backend_reaches_a_watch_on_the_other(
    pair: tuple[Backend, Backend],
) -> None:
    first, second = pair
    watch = second.watch("/registry/", revision=0)
    created = await first.create("/registry/pods/default/a", b"1")
    updated = await first.update(
        "/registry/pods/default/a", b"2", expected_revision=created.mod_revision
    )
    events = await take(watch, 2)
    assert [(e.type, e.kv) for e in events] == [
        (EventType.CREATE, created),
        (EventType.UPDATE, updated),
    ]
    assert events[1].prev_revision == created.mod_revision
    # The other process reads it, and its compare-and-swap sees the same revision.
    assert await second.get("/registry/pods/default/a") == updated
    with pytest.raises(RevisionMismatchError) as stale:
        await second.update(
            "/registry/pods/default/a", b"x", expected_revision=created.mod_revision
        )
    assert stale.value.actual == updated.mod_revision
    with pytest.raises(KeyExistsError):
        await second.create("/registry/pods/default/a", b"again")


async def test_history_from_the_other_process_is_replayed(
    pair: tuple[Backend, Backend],
) -> None:
    first, second = pair
    a = await first.create("/h/a", b"1")
    b = await first.create("/h/b", b"1")
    gone = await first.delete("/h/a")
    events = await take(second.watch("/h/", revision=a.mod_revision), 2)
    assert [(e.type, e.kv.key, e.revision) for e in events] == [
        (EventType.CREATE, "/h/b", b.mod_revision),
        (EventType.DELETE, "/h/a", gone.mod_revision),
    ]
    assert events[1].kv.value == b"1"


async def test_revisions_are_etcds_own_and_keys_live_under_the_root(etcd_url: str) -> None:
    store = open_backend(etcd_url, FAST)
    assert isinstance(store, EtcdBackend)
    await store.start()
    try:
        created = await store.create("/registry/configmaps/default/c", b"{}", ttl=30)
        host, port = store.address.endpoints[0]
        async with aetcd.Client(host=host, port=port) as raw:
            got = await raw.get(store.address.root.encode() + b"/registry/configmaps/default/c")
            assert got is not None
            assert got.value == b"{}"
            assert got.mod_revision == created.mod_revision == got.create_revision
            assert got.lease >> 32 == 30  # the lease ID carries the TTL

            # A write outside the root takes a revision etcd-wide: Corral's
            # watchers do not see it, but it counts as their progress.
            watch = store.watch("/", revision=0)
            seen: list[Event] = []

            async def read() -> None:
                async for event in watch:
                    seen.append(event)

            reader = asyncio.create_task(read())
            try:
                await raw.put(b"/someone-else/key", b"x")
                foreign = await raw.get(b"/someone-else/key")
                assert foreign is not None
                assert foreign.mod_revision == created.mod_revision + 1

                async def caught_up() -> bool:
                    revision = await store.current_revision()
                    progress = watch.progress()
                    return revision == foreign.mod_revision and progress == revision

                await eventually(caught_up, what="progress past the foreign write")
                assert (await store.list("/")).items == [created]
                later = await store.create("/registry/configmaps/default/d", b"{}")
                assert later.mod_revision == foreign.mod_revision + 1

                async def delivered() -> bool:
                    return [e.kv for e in seen] == [later]

                await eventually(delivered, what="only Corral's write delivered")
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
                await watch.aclose()
    finally:
        await store.close()


async def test_writes_with_one_ttl_share_a_lease_short_ttls_do_not(etcd_url: str) -> None:
    store = open_backend(etcd_url, FAST)
    assert isinstance(store, EtcdBackend)
    await store.start()
    try:
        long_a = await store.create("/e/a", b"1", ttl=3600)
        long_b = await store.create("/e/b", b"1", ttl=3600)
        short_a = await store.create("/e/c", b"1", ttl=5)
        short_b = await store.create("/e/d", b"1", ttl=5)
        assert (long_a.lease, short_a.lease) == (3600, 5)
        host, port = store.address.endpoints[0]
        root = store.address.root.encode()
        async with aetcd.Client(host=host, port=port) as raw:
            leases = {}
            for kv in (long_a, long_b, short_a, short_b):
                got = await raw.get(root + kv.key.encode())
                assert got is not None
                leases[kv.key] = got.lease
            assert leases["/e/a"] == leases["/e/b"]
            assert leases["/e/c"] != leases["/e/d"]
            shared = await raw.get_lease_info(leases["/e/a"])
            assert shared.grantedTTL == 3600 + 60  # the TTL plus the reuse window
            exact = await raw.get_lease_info(leases["/e/c"])
            assert exact.grantedTTL == 5
    finally:
        await store.close()


async def test_events_lost_to_compaction_cut_every_watcher_off(
    pair: tuple[Backend, Backend], monkeypatch: pytest.MonkeyPatch
) -> None:
    """If etcd compacts revisions the follower had not read yet (its stream was
    down), its watchers cannot be given those events: they must re-list."""
    from corral.storage import WatchOverflowError
    from corral.storage.etcd import feed as feed_module

    monkeypatch.setattr(feed_module, "RETRY_DELAY", 1.0)
    writer, follower = pair
    assert isinstance(follower, EtcdBackend)
    watch = follower.watch("/lost/", revision=0)
    first = await writer.create("/lost/a", b"1")
    (event,) = await take(watch, 1)
    assert event.kv == first
    stream = follower._feed._stream  # type: ignore[union-attr]
    assert stream is not None
    stream.close()  # the follower's stream breaks; it reopens after RETRY_DELAY
    second = await writer.update("/lost/a", b"2", expected_revision=first.mod_revision)
    third = await writer.update("/lost/a", b"3", expected_revision=second.mod_revision)
    await writer.compact(third.mod_revision)
    with pytest.raises(WatchOverflowError):
        await take(watch, 1, within=10)
    # New watches work again, from the current revision on.
    fresh = follower.watch("/lost/", revision=0)
    fourth = await writer.update("/lost/a", b"4", expected_revision=third.mod_revision)
    (event,) = await take(fresh, 1, within=10)
    assert event.kv == fourth


async def test_concurrent_writers_in_two_processes_give_both_one_ordered_stream(
    pair: tuple[Backend, Backend],
) -> None:
    """Each process publishes its own writes at once when nothing is missing
    before them, and waits for the other's from the watch: both watches see
    the same events, in revision order, with no gap or duplicate."""
    first, second = pair
    watches = [first.watch("/both/", revision=0), second.watch("/both/", revision=0)]

    async def write(backend: Backend, name: str) -> None:
        for i in range(25):
            kv = await backend.create(f"/both/{name}-{i:02d}", b"0")
            await backend.update(kv.key, b"1", expected_revision=kv.mod_revision)

    await asyncio.gather(
        *(write(b, f"{n}{w}") for n, b in (("a", first), ("b", second)) for w in range(4))
    )
    streams = [await take(watch, 400, within=30) for watch in watches]
    assert streams[0] == streams[1]
    revisions = [e.revision for e in streams[0]]
    assert revisions == sorted(set(revisions))
    assert len({e.kv.key for e in streams[0]}) == 200
    assert await first.current_revision() == revisions[-1]
