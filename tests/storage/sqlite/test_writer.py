"""The SQLite writer: group commit, compaction in chunks, and a failed batch."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from corral.storage import KeyExistsError, SQLiteBackend, StorageError, queuedwrites

from ..helpers import FAST


async def test_concurrent_writes_share_transactions(tmp_path: Path) -> None:
    backend = SQLiteBackend(tmp_path / "state.db", FAST)
    await backend.start()
    batches = REGISTRY.get_sample_value("corral_storage_commit_batch_size_count") or 0.0
    try:
        commits = backend.commits
        results = await asyncio.gather(
            *(backend.create(f"/g/{i}", b"v" * 1024) for i in range(200)),
            backend.create("/g/7", b"duplicate"),
            return_exceptions=True,
        )
        *created, duplicate = results
        assert isinstance(duplicate, KeyExistsError)
        assert all(not isinstance(kv, BaseException) for kv in created)
        used = backend.commits - commits
        assert 1 <= used < 20
        observed = REGISTRY.get_sample_value("corral_storage_commit_batch_size_count")
        assert observed == batches + used
        assert (await backend.count("/g/"))[0] == 200
    finally:
        await backend.close()


async def test_compaction_runs_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queuedwrites, "COMPACT_CHUNK", 4)
    backend = SQLiteBackend(tmp_path / "state.db", FAST)
    await backend.start()
    try:
        kv = await backend.create("/k", b"0")
        for n in range(1, 30):
            kv = await backend.update("/k", b"%d" % n, expected_revision=kv.mod_revision)
        commits = backend.commits
        assert await backend.compact(kv.mod_revision) == kv.mod_revision
        assert backend.commits - commits == -(-(kv.mod_revision) // 4)
        assert await backend.get("/k") == kv
    finally:
        await backend.close()
    conn = sqlite3.connect(tmp_path / "state.db")
    assert conn.execute("SELECT COUNT(*) FROM kv").fetchone() == (1,)
    conn.close()


async def test_a_failed_batch_fails_every_write_and_reuses_no_revision(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    backend = SQLiteBackend(path, FAST)
    await backend.start()
    try:
        first = await backend.create("/ok", b"v")
        # Another connection makes one key unwritable; the writer sees it on its next batch.
        conn = sqlite3.connect(path)
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON kv WHEN NEW.name = '/boom'"
            " BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
        )
        conn.commit()
        conn.close()
        results = await asyncio.gather(
            backend.create("/a", b"v"),
            backend.create("/boom", b"v"),
            backend.create("/b", b"v"),
            return_exceptions=True,
        )
        assert all(isinstance(r, StorageError) for r in results)
        assert "refused by test" in str(results[1])
        assert await backend.current_revision() == first.mod_revision
        assert await backend.get("/a") is None
        after = await backend.create("/a", b"v")
        assert after.mod_revision == first.mod_revision + 1
    finally:
        await backend.close()
