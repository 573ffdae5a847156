"""The PostgreSQL datastore's tables, its schema version, and creating them.

The same log as the SQLite driver (docs/storage.md), in tables prefixed
``corral_`` so that a database may be shared with other applications:

- ``corral_kv``: the log, one row per revision (``id``), as in kine; a delete
  row carries the value the key had; ``prev_revision`` links each row to the
  one it replaced (a create after a delete to the tombstone).
- ``corral_current``: one row per key, its newest revision (live or a
  tombstone until compaction passes it), the revision it was created at, and
  when its lease ends. Get, list and count at the current revision, and the
  checks of every write, read only this table.
- ``corral_meta``: one row: the marker, the schema version, the newest
  committed revision and the compaction point. Every write transaction locks
  this row first (``SELECT … FOR UPDATE``): that lock is what serialises the
  writers of every process, so revisions are allocated under it and commit
  order is revision order.

Names are ``text COLLATE "C"``: byte order of UTF-8, which is code point
order, the order Python compares ``str`` in (and the order the other drivers
list keys in).

Two processes opening a new database at once are serialised by a
transaction-scoped advisory lock (`SCHEMA_LOCK`), so the tables are created
once. A database whose ``corral_meta`` says a newer schema is refused.
"""

from __future__ import annotations

import asyncpg

from corral.storage.errors import CorruptDatastoreError, SchemaVersionError

#: The schema this code writes and reads.
SCHEMA_VERSION = 1
MARKER = "corral"

# Advisory lock keys (bigint), scoped by PostgreSQL to the current database.
#: Held (transaction-scoped) while the schema is checked or created.
SCHEMA_LOCK = 0x636F7272616C0001
#: Held (session-scoped) by the one process that sweeps leases and compacts.
MAINTENANCE_LOCK = 0x636F7272616C0002

#: The channel every commit notifies, with its newest revision as payload.
CHANNEL = "corral_log"

_SCHEMA_1 = (
    """CREATE TABLE corral_kv (
        id bigint PRIMARY KEY,
        name text COLLATE "C" NOT NULL,
        created boolean NOT NULL,
        deleted boolean NOT NULL,
        create_revision bigint NOT NULL,
        prev_revision bigint NOT NULL,
        lease integer NOT NULL,
        ts double precision NOT NULL,
        value bytea NOT NULL
    )""",
    """CREATE TABLE corral_current (
        name text COLLATE "C" PRIMARY KEY,
        revision bigint NOT NULL,
        create_revision bigint NOT NULL,
        deleted boolean NOT NULL,
        expires_at double precision
    )""",
    """CREATE INDEX corral_current_expires_at ON corral_current (expires_at)
        WHERE expires_at IS NOT NULL""",
    """CREATE TABLE corral_meta (
        id integer PRIMARY KEY CHECK (id = 1),
        datastore text NOT NULL,
        schema_version integer NOT NULL,
        revision bigint NOT NULL,
        compacted bigint NOT NULL
    )""",
    "INSERT INTO corral_meta VALUES (1, 'corral', 1, 0, 0)",
)


async def prepare(conn: asyncpg.Connection, where: str) -> tuple[int, int]:
    """Check or create the schema; return the (revision, compacted) it holds.

    Raises `CorruptDatastoreError` if ``corral_meta`` is not ours and
    `SchemaVersionError` if a newer Corral wrote it; a refused database is
    left untouched.
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK)
        exists = await conn.fetchval("SELECT to_regclass('corral_meta') IS NOT NULL")
        if not exists:
            for statement in _SCHEMA_1:
                await conn.execute(statement)
        try:
            row = await conn.fetchrow(
                "SELECT datastore, schema_version, revision, compacted FROM corral_meta"
                " WHERE id = 1"
            )
        except asyncpg.UndefinedColumnError:
            row = None
        if row is None or row["datastore"] != MARKER:
            raise CorruptDatastoreError(
                f"datastore {where} has a corral_meta table that is not Corral's"
            )
        version = int(row["schema_version"])
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"datastore {where} was written by a newer Corral (schema {version}); "
                f"this Corral reads schema {SCHEMA_VERSION}"
            )
        return int(row["revision"]), int(row["compacted"])
