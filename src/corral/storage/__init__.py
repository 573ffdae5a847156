"""Corral's storage layer: one revisioned key-value log, several drivers.

Every object Corral serves is a key (``/registry/<group>/<resource>/...``) in
one log (DESIGN §4). Each create, update or delete appends an entry and takes
the next global revision; the newest entry of a key is its state and its
revision is the object's ``resourceVersion``. The API server builds
Kubernetes semantics (get, list with continue tokens, watch, compare-and-swap
updates, TTL'd Events) on top of the small `Backend` protocol.

Open a backend from a datastore URL and start it::

    backend = open_backend("sqlite:///var/lib/corral/state.db")
    await backend.start()
    kv = await backend.create("/registry/core/configmaps/default/a", b"{...}")
    async for event in backend.watch("/registry/core/configmaps/", revision=kv.mod_revision):
        ...
    await backend.close()

Drivers: ``sqlite://`` (the default, `SQLiteBackend`), ``postgres://``
(`corral.storage.postgres.PostgresBackend`: several servers may share one
database) and ``memory://`` (`MemoryBackend`); etcd comes later. How the
drivers work (schema, group commit, watch, TTL, compaction, migrations) is
told in docs/storage.md.

Errors: one tree rooted at `StorageError` (drawn in `corral.storage.errors`),
so callers catch by meaning; no sqlite3 or OS exception escapes a driver.
"""

from corral.storage.backend import Backend, EventStream
from corral.storage.errors import (
    BackendClosedError,
    CompactedError,
    CorruptDatastoreError,
    DatastoreError,
    DatastoreInUseError,
    DatastoreUnavailableError,
    DatastoreURLError,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    ResyncRequiredError,
    RevisionMismatchError,
    SchemaVersionError,
    StorageError,
    WatchOverflowError,
)
from corral.storage.memory import MemoryBackend
from corral.storage.options import StorageOptions
from corral.storage.sqlite import SQLiteBackend
from corral.storage.types import Event, EventType, KeyValue, ListResult
from corral.storage.url import open_backend

__all__ = [
    "Backend",
    "BackendClosedError",
    "CompactedError",
    "CorruptDatastoreError",
    "DatastoreError",
    "DatastoreInUseError",
    "DatastoreURLError",
    "DatastoreUnavailableError",
    "Event",
    "EventStream",
    "EventType",
    "FutureRevisionError",
    "KeyExistsError",
    "KeyNotFoundError",
    "KeyValue",
    "ListResult",
    "MemoryBackend",
    "ResyncRequiredError",
    "RevisionMismatchError",
    "SQLiteBackend",
    "SchemaVersionError",
    "StorageError",
    "StorageOptions",
    "WatchOverflowError",
    "open_backend",
]
