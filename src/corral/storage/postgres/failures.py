"""Translate asyncpg and OS exceptions into the storage error tree.

No ``asyncpg`` exception or ``OSError`` leaves the driver (DESIGN §5). This
module decides the meaning of each: a server that cannot be reached, is
shutting down or starting up, or a connection that broke, is
`DatastoreUnavailableError` (the API server answers 503 and retries later);
a refused login or a missing database is a `DatastoreError` (retrying will
not help); anything else fails the operation with a plain `StorageError`.
Messages name the datastore by its display form (no password) and give the
server's or the OS's reason, which never contains the password either.
"""

from __future__ import annotations

import asyncpg

from corral.storage.errors import DatastoreError, DatastoreUnavailableError, StorageError

#: SQLSTATE classes meaning "the server is not there right now":
#: 08 connection exception, 57 operator intervention (shutdown, starting up),
#: 53 insufficient resources (too many connections).
_UNAVAILABLE_CLASSES = ("08", "57", "53")
#: 28 invalid authorization, 3D invalid catalog name (no such database).
_REFUSED_CLASSES = ("28", "3D")

#: Every exception the driver translates (anything else is a bug and propagates).
#: ``InternalClientError`` is asyncpg's word for a connection left mid-operation
#: (a query cancelled while the server went away): the connection is unusable,
#: which for a caller is the datastore being unreachable.
TRANSLATED = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
)


def from_postgres(err: BaseException, where: str) -> StorageError:
    """The storage error that says what ``err`` means for the datastore ``where``."""
    if isinstance(err, StorageError):
        return err
    if isinstance(err, asyncpg.PostgresError):
        state = str(getattr(err, "sqlstate", "") or "")
        reason = _reason(err)
        if state[:2] in _UNAVAILABLE_CLASSES:
            return DatastoreUnavailableError(f"datastore {where} is unreachable: {reason}")
        if state[:2] in _REFUSED_CLASSES:
            return DatastoreError(f"cannot use datastore {where}: {reason}")
        return StorageError(f"datastore {where}: {reason}")
    if isinstance(err, TimeoutError):
        return DatastoreUnavailableError(f"datastore {where} is unreachable: timed out")
    if isinstance(err, OSError):
        reason = err.strerror or str(err) or type(err).__name__
        return DatastoreUnavailableError(f"datastore {where} is unreachable: {reason}")
    # asyncpg.InterfaceError, InternalClientError: the connection is closed or
    # broke mid-query.
    return DatastoreUnavailableError(f"datastore {where} is unreachable: {_reason(err)}")


def _reason(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
