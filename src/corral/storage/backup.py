"""Backups of a datastore: one consistent snapshot, in a versioned, checksummed file.

`write_backup` lists every live key at one revision (page by page, each page
read at that same revision, so writes made meanwhile never show) and writes
them to a file atomically: a temporary file next to the target, flushed to
disk, then renamed over it. `read_backup` checks a file completely (format,
version, checksum, count) before `restore_backup` writes anything, so a
corrupt or foreign file changes nothing. A backup is driver-neutral: one
taken from SQLite restores into etcd and back.

The format, version 1: UTF-8 JSON lines.

1. A header: ``{"format": "corral-backup", "version": 1, "revision": R,
   "keys": N, "created": "<UTC ISO 8601>"}``.
2. N lines, one per key in key order: ``{"key": K, "value": <base64>,
   "ttl": <seconds, 0 for none>}``.
3. A trailer: ``{"sha256": "<hex>"}``, the SHA-256 of every byte before it.

Revisions are not kept: a restored store numbers its log afresh, so clients
re-list (kubectl does) rather than resume watches. A key written with a TTL
gets its whole TTL again from the restore.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime
import hashlib
import json
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corral.storage.backend import Backend
from corral.storage.errors import (
    CompactedError,
    CorruptDatastoreError,
    KeyNotFoundError,
    RevisionMismatchError,
    StorageError,
)
from corral.storage.sqlite import reader as sqlite_reader
from corral.storage.sqlite.failures import from_sqlite

FORMAT = "corral-backup"
VERSION = 1
#: Keys listed per page while taking a backup.
PAGE = 500
#: Writes in flight at once while restoring.
RESTORE_CONCURRENCY = 32
#: Attempts at a snapshot when compaction passes its revision mid-way.
ATTEMPTS = 3


class BackupError(StorageError):
    """A backup could not be written, or a backup file cannot be restored."""


class BackupFileError(BackupError):
    """The file is not a Corral backup, is damaged, or is of a newer version."""


class RestoreTargetNotEmptyError(BackupError):
    """Restore refused: the datastore already holds keys (``--force`` clears it)."""

    def __init__(self, count: int) -> None:
        super().__init__(
            f"the datastore is not empty ({count} keys); restore into an empty datastore, "
            "or pass --force to delete every key first"
        )
        self.count = count


@dataclass(frozen=True, slots=True)
class Entry:
    """One key of a backup."""

    key: str
    value: bytes
    ttl: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A backup's content: every live key at one revision."""

    revision: int
    entries: list[Entry]
    created: str = ""


async def take_snapshot(backend: Backend) -> Snapshot:
    """Every live key at one revision (retried if compaction overtakes it)."""
    for attempt in range(ATTEMPTS):
        revision = await backend.current_revision()
        entries: list[Entry] = []
        last = ""
        try:
            while True:
                page = await backend.list("", revision=revision, limit=PAGE, start_after=last)
                entries.extend(Entry(kv.key, kv.value, kv.lease) for kv in page.items)
                if not page.more or not page.items:
                    break
                last = page.items[-1].key
        except CompactedError:
            if attempt == ATTEMPTS - 1:
                raise
            continue
        return Snapshot(revision, entries)
    raise AssertionError("unreachable")


def snapshot_sqlite_file(path: Path) -> Snapshot:
    """Every live key of a SQLite datastore another process holds, at one revision.

    A SQLite file belongs to one server (it holds a lock), but in WAL mode any
    process may read it: one read transaction sees one commit, whatever the
    server writes meanwhile. Nothing is written to the file.
    """
    if not path.is_file():
        raise CorruptDatastoreError(f"no datastore file at {path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as error:
        raise from_sqlite(error, str(path)) from None
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("BEGIN")
        revision, _ = sqlite_reader.bounds(conn)
        entries: list[Entry] = []
        last = ""
        while True:
            page = sqlite_reader.list_page(conn, "", 0, PAGE, last)
            entries.extend(Entry(kv.key, kv.value, kv.lease) for kv in page.items)
            if not page.more or not page.items:
                break
            last = page.items[-1].key
        conn.execute("COMMIT")
    except sqlite3.Error as error:
        raise from_sqlite(error, str(path)) from None
    finally:
        conn.close()
    return Snapshot(revision, entries)


async def write_sqlite_file_backup(source: Path, path: Path) -> Snapshot:
    """`snapshot_sqlite_file` of ``source``, written to ``path`` like `write_backup`."""
    snapshot = await asyncio.to_thread(snapshot_sqlite_file, source)
    try:
        await asyncio.to_thread(write_atomically, path, encode(snapshot))
    except OSError as error:
        raise BackupError(f"cannot write {path}: {error.strerror or error}") from None
    return snapshot


def encode(snapshot: Snapshot) -> bytes:
    """The file content of a backup (format version 1)."""
    created = snapshot.created or datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    header = {
        "format": FORMAT,
        "version": VERSION,
        "revision": snapshot.revision,
        "keys": len(snapshot.entries),
        "created": created,
    }
    lines = [json.dumps(header, sort_keys=True)]
    for entry in snapshot.entries:
        value = base64.b64encode(entry.value).decode("ascii")
        lines.append(json.dumps({"key": entry.key, "value": value, "ttl": entry.ttl}))
    body = ("\n".join(lines) + "\n").encode()
    trailer = json.dumps({"sha256": hashlib.sha256(body).hexdigest()}) + "\n"
    return body + trailer.encode()


def decode(data: bytes) -> Snapshot:
    """A backup file's content, checked; `BackupFileError` says what is wrong."""
    if not data.startswith(b"{"):
        raise BackupFileError("not a Corral backup file (no header)")
    body, _, trailer_line = data.rstrip(b"\n").rpartition(b"\n")
    header = _json(data.split(b"\n", 1)[0], "header")
    if header.get("format") != FORMAT:
        raise BackupFileError("not a Corral backup file (unknown format)")
    version = header.get("version")
    if not isinstance(version, int) or version < 1:
        raise BackupFileError("the backup file's version is missing or invalid")
    if version > VERSION:
        raise BackupFileError(
            f"the backup file is format version {version}, written by a newer Corral; "
            f"this Corral reads version {VERSION}"
        )
    trailer = _json(trailer_line, "trailer")
    expected = trailer.get("sha256")
    if not isinstance(expected, str) or hashlib.sha256(body + b"\n").hexdigest() != expected:
        raise BackupFileError("the backup file is damaged (checksum mismatch or truncated)")
    lines = body.split(b"\n")[1:]
    entries = [_entry(line) for line in lines]
    if header.get("keys") != len(entries) or not isinstance(header.get("revision"), int):
        raise BackupFileError("the backup file is damaged (key count does not match)")
    return Snapshot(header["revision"], entries, str(header.get("created", "")))


def _json(line: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise BackupFileError(f"the backup file is damaged (unreadable {what})") from None
    if not isinstance(value, dict):
        raise BackupFileError(f"the backup file is damaged (unreadable {what})")
    return value


def _entry(line: bytes) -> Entry:
    record = _json(line, "entry")
    key, value, ttl = record.get("key"), record.get("value"), record.get("ttl", 0)
    if not isinstance(key, str) or not key or not isinstance(value, str):
        raise BackupFileError("the backup file is damaged (an entry lacks its key or value)")
    if not isinstance(ttl, int) or ttl < 0:
        raise BackupFileError(f"the backup file is damaged (bad ttl for {key!r})")
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise BackupFileError(f"the backup file is damaged (bad value for {key!r})") from None
    return Entry(key, raw, ttl)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    directory = path.parent
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


async def write_backup(backend: Backend, path: Path) -> Snapshot:
    """Snapshot ``backend`` into the file ``path`` (replaced atomically)."""
    snapshot = await take_snapshot(backend)
    data = encode(snapshot)
    try:
        await asyncio.to_thread(write_atomically, path, data)
    except OSError as error:
        raise BackupError(f"cannot write {path}: {error.strerror or error}") from None
    return snapshot


def read_backup(path: Path) -> Snapshot:
    """The checked content of the backup file ``path``."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BackupError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        return decode(data)
    except BackupFileError as error:
        raise BackupFileError(f"{path}: {error}") from None


async def restore_backup(backend: Backend, snapshot: Snapshot, *, force: bool = False) -> int:
    """Write every key of ``snapshot`` into ``backend``; returns how many.

    Refuses a datastore that holds keys unless ``force``, which deletes them
    first.
    """
    count, _ = await backend.count("")
    if count and not force:
        raise RestoreTargetNotEmptyError(count)
    if count:
        await _clear(backend)
    limit = asyncio.Semaphore(RESTORE_CONCURRENCY)

    async def put(entry: Entry) -> None:
        async with limit:
            await backend.create(entry.key, entry.value, ttl=entry.ttl)

    await asyncio.gather(*(put(entry) for entry in snapshot.entries))
    return len(snapshot.entries)


async def _clear(backend: Backend) -> None:
    limit = asyncio.Semaphore(RESTORE_CONCURRENCY)

    async def drop(key: str, revision: int) -> None:
        async with limit:
            with contextlib.suppress(KeyNotFoundError, RevisionMismatchError):
                await backend.delete(key, expected_revision=revision)

    while True:
        page = await backend.list("", limit=PAGE)
        if not page.items:
            return
        await asyncio.gather(*(drop(kv.key, kv.mod_revision) for kv in page.items))
