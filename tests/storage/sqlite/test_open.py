"""Opening an SQLite datastore: refusals leave files untouched; reopen; migrations."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from corral.storage import (
    CorruptDatastoreError,
    DatastoreError,
    DatastoreInUseError,
    SchemaVersionError,
    SQLiteBackend,
)
from corral.storage.sqlite import schema

from ..helpers import FAST


async def started(path: Path) -> SQLiteBackend:
    backend = SQLiteBackend(path, FAST)
    await backend.start()
    return backend


async def test_data_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    backend = await started(path)
    kv = await backend.create("/k", b"v")
    await backend.create("/gone", b"v")
    deleted = await backend.delete("/gone")
    # Compaction removes the newest row (the tombstone); its revision must stay used.
    await backend.compact(deleted.mod_revision)
    await backend.close()

    backend = await started(path)
    try:
        assert await backend.get("/k") == kv
        assert await backend.current_revision() == deleted.mod_revision
        assert await backend.compacted_revision() == deleted.mod_revision
        again = await backend.create("/gone", b"new")
        assert again.mod_revision == deleted.mod_revision + 1
    finally:
        await backend.close()


def _datastore_file_modes(directory: Path) -> dict[str, str]:
    """The mode of every datastore file in ``directory`` (the lock file aside)."""
    return {
        p.name: oct(p.stat().st_mode & 0o777)
        for p in directory.iterdir()
        if p.name.startswith("state.db") and not p.name.endswith(".lock")
    }


async def test_a_new_datastore_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    backend = await started(tmp_path / "state.db")
    try:
        await backend.create("/k", b"v")
        modes = _datastore_file_modes(tmp_path)
        assert set(modes) >= {"state.db", "state.db-wal"}
        assert set(modes.values()) == {oct(0o600)}
    finally:
        await backend.close()


async def test_a_second_open_is_refused_while_the_first_holds_it(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = await started(path)
    try:
        with pytest.raises(DatastoreInUseError, match=f"process {os.getpid()}") as caught:
            await started(path)
        assert str(path) in str(caught.value)
    finally:
        await first.close()
    second = await started(path)
    await second.close()


def foreign_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices (total) VALUES (12.5)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"just some notes\n", "not an SQLite database"),
        (os.urandom(8192), "not an SQLite database"),
        (b"SQLite format 3\x00" + os.urandom(8000), "damaged or not a database"),
        (None, "not a Corral datastore"),
    ],
    ids=["text", "random", "bad-pages", "foreign-sqlite"],
)
async def test_a_file_that_is_not_ours_is_refused_and_left_untouched(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "state.db"
    if content is None:
        foreign_sqlite(path)
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    with pytest.raises(CorruptDatastoreError, match=message) as caught:
        await started(path)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == before
    assert not (tmp_path / "state.db-wal").exists()


async def test_an_empty_file_becomes_a_datastore(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.touch()
    backend = await started(path)
    await backend.create("/k", b"v")
    await backend.close()


async def test_a_missing_directory_is_created_and_a_bad_one_is_reported(tmp_path: Path) -> None:
    backend = await started(tmp_path / "a" / "b" / "state.db")
    await backend.close()
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DatastoreError, match="Not a directory") as caught:
        await started(blocker / "state.db")
    assert str(blocker) in str(caught.value)


def set_schema_version(path: Path, version: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (version,))
    conn.commit()
    conn.close()


def schema_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        (version,) = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    finally:
        conn.close()
    return int(version)


def backups(directory: Path) -> list[Path]:
    return sorted(directory.glob("state.db.bak-schema*Z"))


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    await (await started(path)).close()
    set_schema_version(path, 7)
    before = path.read_bytes()
    with pytest.raises(SchemaVersionError) as caught:
        await started(path)
    assert "written by a newer Corral (schema 7); this Corral reads schema 1" in str(caught.value)
    assert path.read_bytes() == before


async def test_an_older_schema_is_backed_up_then_migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.db"
    backend = await started(path)
    kv = await backend.create("/k", b"v")
    await backend.close()

    def add_labels(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE labels (name TEXT PRIMARY KEY)")

    monkeypatch.setattr(schema, "SCHEMA_VERSION", 2)
    monkeypatch.setattr(schema, "MIGRATIONS", [(1, add_labels)])
    backend = await started(path)
    try:
        assert await backend.get("/k") == kv
    finally:
        await backend.close()
    assert schema_version(path) == 2
    (backup,) = backups(tmp_path)
    assert backup.name.startswith("state.db.bak-schema1-")
    assert schema_version(backup) == 1
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM labels").fetchone() == (0,)
    conn.close()


async def test_a_missing_migration_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.db"
    await (await started(path)).close()
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(schema, "MIGRATIONS", [(1, lambda conn: None)])
    with pytest.raises(SchemaVersionError, match="no migration from schema 2 to 3"):
        await started(path)
    monkeypatch.undo()
    assert schema_version(path) == 1
    await (await started(path)).close()
