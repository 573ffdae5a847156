"""Backups at the storage level, for every driver: one revision while writes go
on, a faithful round trip through the file format, and restore's refusals."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from corral.storage.backup import (
    BackupFileError,
    RestoreTargetNotEmptyError,
    decode,
    encode,
    read_backup,
    restore_backup,
    take_snapshot,
    write_backup,
)

from .helpers import BackendFactory


async def test_snapshot_is_one_revision_and_restores_faithfully(
    make_backend: BackendFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from corral.storage import backup as backup_module

    monkeypatch.setattr(backup_module, "PAGE", 7)  # many pages
    source = await make_backend()
    for i in range(40):
        await source.create(
            f"/registry/things/{i:03d}", b"\x00\xffv%d" % i, ttl=600 if i == 3 else 0
        )
    stop = asyncio.Event()

    async def churn() -> None:
        n = 0
        while not stop.is_set():
            await source.create(f"/registry/churn/{n:05d}", b"c")
            n += 1

    writer = asyncio.create_task(churn())
    try:
        await asyncio.sleep(0)
        snapshot = await take_snapshot(source)
    finally:
        stop.set()
        await writer
    listed = await source.list("", revision=snapshot.revision)
    assert [(e.key, e.value, e.ttl) for e in snapshot.entries] == [
        (kv.key, kv.value, kv.lease) for kv in listed.items
    ]
    assert decode(encode(snapshot)).entries == snapshot.entries

    path = tmp_path / "store.backup"
    written = await write_backup(source, path)
    target = await make_backend()
    assert await restore_backup(target, read_backup(path)) == len(written.entries)
    restored = await target.list("")
    assert [(kv.key, kv.value, kv.lease) for kv in restored.items] == [
        (e.key, e.value, e.ttl) for e in written.entries
    ]
    with pytest.raises(RestoreTargetNotEmptyError):
        await restore_backup(target, written)
    await target.create("/registry/extra", b"x")
    await restore_backup(target, written, force=True)
    assert await target.get("/registry/extra") is None
    assert (await target.count(""))[0] == len(written.entries)


def test_damaged_files_are_named_as_such() -> None:
    from corral.storage.backup import Entry, Snapshot

    good = encode(Snapshot(5, [Entry("/a", b"1", 0)], "2026-11-24T00:00:00+00:00"))
    assert decode(good).entries == [Entry("/a", b"1", 0)]
    for bad, message in [
        (good.replace(b'"ttl": 0', b'"ttl": 1'), "checksum"),
        (good[:-10], "damaged"),
        (b"", "not a Corral backup"),
        (b'{"format": "other"}\n{}\n', "not a Corral backup"),
    ]:
        with pytest.raises(BackupFileError, match=message):
            decode(bad)
