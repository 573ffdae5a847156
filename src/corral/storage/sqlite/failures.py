"""Translate sqlite3 and OS exceptions into the storage error tree.

No ``sqlite3.*`` exception or ``OSError`` may escape the driver (DESIGN §5):
callers catch `StorageError` subclasses by meaning. This module decides the
meaning: a damaged file or a file that is not a database is a
`CorruptDatastoreError`; a file or directory the process cannot open, read or
write is a `DatastoreError`; anything else (a full disk, an I/O error during
a commit) fails the operation with a plain `StorageError`. Each message names
the datastore path and SQLite's or the OS's own reason.
"""

from __future__ import annotations

import sqlite3

from corral.storage.errors import CorruptDatastoreError, DatastoreError, StorageError

# Primary result codes (https://sqlite.org/rescode.html).
_SQLITE_PERM = 3
_SQLITE_READONLY = 8
_SQLITE_CORRUPT = 11
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26


def from_sqlite(err: sqlite3.Error, path: str) -> StorageError:
    """The storage error that says what ``err`` means for the datastore at ``path``."""
    code = getattr(err, "sqlite_errorcode", 0) & 0xFF
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return CorruptDatastoreError(f"datastore {path} is damaged or not a database: {err}")
    if code in (_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_CANTOPEN):
        return DatastoreError(f"cannot use datastore {path}: {err}")
    return StorageError(f"datastore {path}: {err}")


def from_os(err: OSError, path: str, doing: str) -> DatastoreError:
    """A `DatastoreError` for an OS failure while ``doing`` something with ``path``."""
    reason = err.strerror or str(err)
    return DatastoreError(f"cannot {doing} {path}: {reason}")
