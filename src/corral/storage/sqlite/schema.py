"""The SQLite datastore's tables, its schema version, and how to upgrade it.

Tables (schema 1):

- ``kv``: the log, one row per revision, as in kine. ``id`` is the revision;
  ``created``/``deleted`` say what the write did; a delete row carries the
  value the key had; ``prev_revision`` links each row to the one it replaced
  (a create after a delete links to the tombstone; a first create to 0).
  ``lease`` is the TTL in seconds, ``ts`` the Unix time of the write (for
  age-based compaction). The log has
  no index on names: a write appends to the end of one b-tree, which is what
  keeps group commits cheap (one random page per write, in ``current``).
- ``current``: one row per key pointing at its newest revision — live, or a
  tombstone (``deleted = 1``) until compaction passes it — so get, list and
  count at the current revision never scan history, and a read at an older
  revision starts here and walks back along ``prev_revision``;
  ``expires_at`` is when a TTL key expires (indexed only where set).
- ``meta``: ``datastore = 'corral'`` (the marker that this file is ours),
  ``schema_version``, ``revision`` (the newest committed revision, written in
  every commit so that a read transaction knows the revision of its snapshot,
  and so that revisions are never reused even when compaction removed the
  newest rows) and ``compacted``.

A new datastore is built as schema 1 and then upgraded by the same migrations
an old datastore goes through, so every migration runs on every start-up test.
`MIGRATIONS` is a module-level list of ``(from_version, function)``; each
function upgrades a connection in an open transaction from ``from_version``
to the next version. All pending migrations run in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from corral.storage.errors import CorruptDatastoreError, SchemaVersionError

#: The schema this code writes and reads.
SCHEMA_VERSION = 1

Migration = Callable[[sqlite3.Connection], None]

#: (from_version, function upgrading from_version to from_version + 1).
MIGRATIONS: list[tuple[int, Migration]] = []

MARKER = "corral"

_SCHEMA_1 = (
    """CREATE TABLE kv (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        created INTEGER NOT NULL,
        deleted INTEGER NOT NULL,
        create_revision INTEGER NOT NULL,
        prev_revision INTEGER NOT NULL,
        lease INTEGER NOT NULL,
        ts REAL NOT NULL,
        value BLOB NOT NULL
    )""",
    """CREATE TABLE current (
        name TEXT PRIMARY KEY,
        revision INTEGER NOT NULL,
        deleted INTEGER NOT NULL,
        expires_at REAL
    ) WITHOUT ROWID""",
    # Partial: a write without a TTL (nearly all of them) leaves it untouched.
    "CREATE INDEX current_expires_at ON current (expires_at) WHERE expires_at IS NOT NULL",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID",
    # 'corral' is MARKER.
    """INSERT INTO meta (key, value) VALUES
        ('datastore', 'corral'), ('schema_version', 1), ('revision', 0), ('compacted', 0)""",
)


def read_version(conn: sqlite3.Connection, path: str) -> int | None:
    """The schema version of the datastore, or None if the database is empty.

    Raises `CorruptDatastoreError` for an SQLite database that is not a Corral
    datastore, and `SchemaVersionError` for one written by a newer Corral. Only
    reads, so a refused file is left exactly as it was.
    """
    objects = [row[0] for row in conn.execute("SELECT name FROM sqlite_master")]
    if not objects:
        return None
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.OperationalError:
        meta = {}
    version = meta.get("schema_version")
    if meta.get("datastore") != MARKER or type(version) is not int:
        listed = ", ".join(sorted(objects)[:5])
        raise CorruptDatastoreError(
            f"{path} is an SQLite database but not a Corral datastore (it holds: {listed})"
        )
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{path} was written by a newer Corral (schema {version}); "
            f"this Corral reads schema {SCHEMA_VERSION}"
        )
    return version


def create(conn: sqlite3.Connection) -> None:
    """Build a new datastore at `SCHEMA_VERSION`, in one transaction."""
    _upgrade(conn, 1, _SCHEMA_1)


def migrate(conn: sqlite3.Connection, version: int) -> None:
    """Upgrade a datastore from ``version`` to `SCHEMA_VERSION`, in one transaction."""
    _upgrade(conn, version, ())


def _upgrade(conn: sqlite3.Connection, version: int, ddl: tuple[str, ...]) -> None:
    steps = dict(MIGRATIONS)
    missing = [v for v in range(version, SCHEMA_VERSION) if v not in steps]
    if missing:
        raise SchemaVersionError(f"no migration from schema {missing[0]} to {missing[0] + 1}")
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in ddl:
            conn.execute(statement)
        for v in range(version, SCHEMA_VERSION):
            steps[v](conn)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
