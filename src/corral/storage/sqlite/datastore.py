"""Opening an SQLite datastore file safely: checks, lock, backup, migration.

Opening decides whether a file may be used at all, and must never damage a
file it refuses. In order:

1. Create the parent directory if missing (an OS failure is a
   `DatastoreError` naming the path and the OS's reason).
2. Read the first 16 bytes: an existing, non-empty file that does not start
   with the SQLite header is refused (`CorruptDatastoreError`) before anything
   else touches it.
3. Take an exclusive ``flock`` on ``<path>.lock`` and write our pid in it; if
   another process holds it, `DatastoreInUseError` names that pid. The lock is
   held until the backend closes, so two servers can never share a file.
4. Read the schema without writing: an SQLite database that is neither empty
   nor marked as a Corral datastore is refused, as is a newer schema.
5. Only then set the PRAGMAs (WAL, ``synchronous=FULL``), and create the
   schema or, for an older schema, copy the file and its ``-wal`` to
   ``<path>.bak-schema<N>-<UTC time>`` and migrate in place.

This runs on the writer thread; the connection it returns is the writer's.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from corral.storage.errors import CorruptDatastoreError, DatastoreError, DatastoreInUseError
from corral.storage.sqlite import schema
from corral.storage.sqlite.failures import from_os, from_sqlite

SQLITE_HEADER = b"SQLite format 3\x00"

#: How long a connection waits for a lock held by another connection (ms).
BUSY_TIMEOUT_MS = 5000

PAGE_SIZE = 1024

_WRITER_PRAGMAS = (
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = OFF",
    # Checkpoint every ~40 MiB of WAL rather than 4: fewer, cheaper per page
    # (a hot index page is copied once per checkpoint, not once per 4 MiB).
    "PRAGMA wal_autocheckpoint = 10000",
    # After a checkpoint, shrink a WAL that grew past 64 MiB under a burst.
    "PRAGMA journal_size_limit = 67108864",
    # 32 MiB of page cache keeps the indexes' upper levels and hot leaves.
    "PRAGMA cache_size = -32768",
)


@dataclass(slots=True)
class Datastore:
    """An open datastore: the writer's connection, the lock, and the log's bounds."""

    conn: sqlite3.Connection
    lock_fd: int
    revision: int
    compacted: int

    def close(self) -> None:
        """Close the connection (checkpointing the WAL), then release the lock."""
        try:
            self.conn.close()
        finally:
            os.close(self.lock_fd)


def open_datastore(path: str) -> Datastore:
    """Open (creating or migrating if needed) the datastore at ``path``."""
    _make_parent(path)
    _check_header(path)
    lock_fd = _lock(path)
    try:
        # Readable by its owner only; SQLite gives the -wal and -shm files the
        # database file's mode.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            return _prepare(conn, path, lock_fd)
        except BaseException:
            conn.close()
            raise
    except sqlite3.Error as err:
        os.close(lock_fd)
        raise from_sqlite(err, path) from None
    except OSError as err:
        os.close(lock_fd)
        raise from_os(err, path, "open datastore") from None
    except BaseException:
        os.close(lock_fd)
        raise


def _make_parent(path: str) -> None:
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
    except FileExistsError:  # a file where the directory should be
        err = NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        raise from_os(err, parent, "create the datastore directory") from None
    except OSError as err:
        raise from_os(err, parent, "create the datastore directory") from None


def _check_header(path: str) -> None:
    try:
        with open(path, "rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as err:
        raise from_os(err, path, "read datastore") from None
    if header and header != SQLITE_HEADER:
        raise CorruptDatastoreError(
            f"{path} is not a Corral datastore: it is not an SQLite database "
            "(the file does not start with the SQLite header); refusing to touch it"
        )


def _lock(path: str) -> int:
    lock_path = path + ".lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as err:
        raise from_os(err, lock_path, "create the datastore lock file") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        who = f"process {holder}" if holder.isdigit() else "another process"
        raise DatastoreInUseError(
            f"datastore {path} is in use by {who} (it holds {lock_path})"
        ) from None
    except OSError as err:
        os.close(fd)
        raise from_os(err, lock_path, "lock") from None
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _prepare(conn: sqlite3.Connection, path: str, lock_fd: int) -> Datastore:
    version = schema.read_version(conn, path)
    if version is not None and version < schema.SCHEMA_VERSION:
        backup(path, version)
    if version is None:
        # Set once, at creation. Small pages keep a group commit small: each
        # write dirties one leaf of `current` at a random place, and the WAL
        # takes whole pages (measured with 16 writers of 1 KiB values: about
        # 10% more creates/s than 4 KiB pages; values overflow into pages that
        # are appended in sequence, so reads lose little).
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode != "wal":
        raise DatastoreError(f"datastore {path} cannot use WAL journaling (got {mode})")
    for pragma in _WRITER_PRAGMAS:
        conn.execute(pragma)
    if version is None:
        schema.create(conn)
    elif version < schema.SCHEMA_VERSION:
        schema.migrate(conn, version)
    meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('revision', 'compacted')"))
    newest = conn.execute("SELECT MAX(id) FROM kv").fetchone()[0] or 0
    return Datastore(conn, lock_fd, max(meta["revision"], newest), meta["compacted"])


def backup(path: str, version: int) -> str:
    """Copy the datastore (and its WAL) aside before migrating; return the copy's path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = f"{path}.bak-schema{version}-{stamp}"
    shutil.copy2(path, target)
    if os.path.exists(path + "-wal"):
        shutil.copy2(path + "-wal", target + "-wal")
    return target
