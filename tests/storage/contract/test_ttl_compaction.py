"""Contract: TTL leases expire as delete events; compaction keeps the live state."""

from __future__ import annotations

import pytest

from corral.storage import (
    Backend,
    CompactedError,
    EventType,
    FutureRevisionError,
    StorageOptions,
)

from ..helpers import BackendFactory, eventually, take


async def test_ttl_expiry_is_an_ordinary_delete_event(backend: Backend) -> None:
    kept = await backend.create("/t/kept", b"v", ttl=1)
    # An update without a TTL drops the lease.
    kept = await backend.update("/t/kept", b"w", expected_revision=kept.mod_revision)
    created = await backend.create("/t/lease", b"v", ttl=1)
    watch = backend.watch("/t/", revision=created.mod_revision)
    (event,) = await take(watch, 1, within=10)
    assert event.type is EventType.DELETE
    assert event.kv.key == "/t/lease"
    assert event.kv.value == b"v"
    assert event.prev_revision == created.mod_revision
    assert await backend.get("/t/lease") is None
    # The key that lost its lease earlier would have expired first.
    assert await backend.get("/t/kept") == kept


async def test_compaction_keeps_the_latest_state_of_every_live_key(backend: Backend) -> None:
    for i in range(10):
        kv = await backend.create(f"/c/{i}", b"0")
        for n in range(1, 4):
            kv = await backend.update(f"/c/{i}", b"%d" % n, expected_revision=kv.mod_revision)
        if i % 3 == 0:
            await backend.delete(f"/c/{i}")
    await backend.create("/c/late", b"late")
    before = await backend.list("/c/")
    current = await backend.current_revision()

    assert await backend.compact(current) == current
    assert await backend.compacted_revision() == current
    after = await backend.list("/c/")
    assert after == before
    assert await backend.count("/c/") == (len(before.items), current)
    for kv in before.items:
        assert await backend.get(kv.key) == kv
    # Compacting again, or to an older revision, changes nothing.
    assert await backend.compact(current - 5) == current
    # Writes go on after compaction, with fresh revisions.
    late = await backend.get("/c/late")
    assert late is not None
    updated = await backend.update("/c/late", b"later", expected_revision=late.mod_revision)
    assert updated.mod_revision == current + 1
    with pytest.raises(FutureRevisionError):
        await backend.compact(current + 10)


async def test_compaction_keeps_history_after_the_compaction_point(backend: Backend) -> None:
    kv = await backend.create("/h/k", b"0")
    revisions = [kv.mod_revision]
    for n in range(1, 6):
        kv = await backend.update("/h/k", b"%d" % n, expected_revision=kv.mod_revision)
        revisions.append(kv.mod_revision)
    await backend.delete("/h/k")
    await backend.compact(revisions[2])
    for n in range(3, 6):
        old = await backend.get("/h/k", revision=revisions[n])
        assert old is not None
        assert old.value == b"%d" % n
    with pytest.raises(CompactedError):
        await backend.get("/h/k", revision=revisions[1])
    events = await take(backend.watch("/h/", revision=revisions[2]), 4)
    assert [e.type for e in events] == [EventType.UPDATE] * 3 + [EventType.DELETE]


async def test_background_compactor_keeps_the_configured_window(
    make_backend: BackendFactory,
) -> None:
    options = StorageOptions(
        ttl_sweep_interval=0.05,
        compact_interval=0.05,
        compact_keep_revisions=5,
        compact_keep_seconds=0,
    )
    backend = await make_backend(options)
    kv = await backend.create("/b/k", b"0")
    for n in range(1, 20):
        kv = await backend.update("/b/k", b"%d" % n, expected_revision=kv.mod_revision)
    current = await backend.current_revision()

    async def compacted() -> bool:
        return await backend.compacted_revision() == current - 5

    await eventually(compacted, what="compaction to current - keep_revisions")
    assert await backend.get("/b/k") == kv
    old = await backend.get("/b/k", revision=current - 4)
    assert old is not None
    assert old.value == b"15"
