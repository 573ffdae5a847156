"""The storage package's errors: one tree, so callers catch by meaning.

Every driver raises only these; a library's own exception (sqlite3, asyncpg,
grpc, OSError) never escapes a driver.

    StorageError
    ├── KeyExistsError          create of a key that is live
    ├── KeyNotFoundError        update/delete/get-required of a key that is absent
    ├── RevisionMismatchError   compare-and-swap lost: the key is at another revision
    ├── FutureRevisionError     a read or watch asked for a revision not yet written
    ├── ResyncRequiredError     a reader must re-list: history it needs is gone
    │   ├── CompactedError      the revision is older than the compaction point
    │   └── WatchOverflowError  a watcher fell too far behind and was cut off
    ├── BackendClosedError      the backend is closed or closing
    └── DatastoreError          the datastore cannot be opened or used at all
        ├── DatastoreURLError       unknown scheme or malformed datastore URL
        ├── DatastoreInUseError     another process holds the datastore
        ├── DatastoreUnavailableError  the datastore's server cannot be reached now
        ├── CorruptDatastoreError   not a Corral datastore, or damaged
        └── SchemaVersionError      written by a newer Corral than this one
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error the storage package raises."""


class KeyExistsError(StorageError):
    """A create found the key already live."""

    def __init__(self, key: str) -> None:
        super().__init__(f"key {key!r} already exists")
        self.key = key


class KeyNotFoundError(StorageError):
    """An update or delete found no live key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"key {key!r} not found")
        self.key = key


class RevisionMismatchError(StorageError):
    """A compare-and-swap write expected one revision and found another."""

    def __init__(self, key: str, expected: int, actual: int) -> None:
        super().__init__(
            f"key {key!r} is at revision {actual}, not the expected revision {expected}"
        )
        self.key = key
        self.expected = expected
        self.actual = actual


class FutureRevisionError(StorageError):
    """A read or watch named a revision newer than the newest one written."""

    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"revision {requested} is newer than the current revision {current}")
        self.requested = requested
        self.current = current


class ResyncRequiredError(StorageError):
    """The reader cannot continue from where it is and must list afresh."""


class CompactedError(ResyncRequiredError):
    """The requested revision has been compacted away."""

    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__(
            f"revision {requested} has been compacted; the oldest available is {compacted + 1}"
        )
        self.requested = requested
        self.compacted = compacted


class WatchOverflowError(ResyncRequiredError):
    """A watcher did not keep up and its buffer filled; it was cut off."""

    def __init__(self, last_revision: int) -> None:
        super().__init__(
            f"watcher fell behind after revision {last_revision} and was cut off; re-list"
        )
        self.last_revision = last_revision


class BackendClosedError(StorageError):
    """The backend was closed; no more reads or writes are accepted."""

    def __init__(self) -> None:
        super().__init__("the storage backend is closed")


class DatastoreError(StorageError):
    """The datastore cannot be opened or used at all."""


class DatastoreURLError(DatastoreError):
    """The datastore URL names an unknown scheme or is malformed."""


class DatastoreInUseError(DatastoreError):
    """Another process already has the datastore open."""


class DatastoreUnavailableError(DatastoreError):
    """The datastore's server cannot be reached right now; retrying later may work.

    The API server answers a write that fails this way with 503
    ServiceUnavailable, and its readiness check fails until the server is back.
    """


class CorruptDatastoreError(DatastoreError):
    """The file or server at the datastore address is not a usable Corral datastore."""


class SchemaVersionError(DatastoreError):
    """The datastore was written by a newer Corral; reading it could misread it."""
