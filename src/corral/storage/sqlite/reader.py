"""Reads of the SQLite driver: a small pool of read connections and the queries.

Reads never wait for the writer: in WAL mode a reader sees the last commit
before its transaction began. Each read that needs more than one statement
(a list and its revision, a read at an older revision and the bounds that make
it valid) runs in ONE read transaction, so everything it returns comes from
one snapshot; ``meta.revision`` tells the snapshot's revision.

Connections live one per pool thread (thread-local), are opened lazily with
``query_only`` set, and are closed when the pool shuts down.

Prefixes become key ranges, ``prefix <= name < prefix_end(prefix)``, so the
primary key of ``current`` and the ``kv(name, id)`` index serve them.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import TypeVar

from corral.storage.base import check_read_revision
from corral.storage.errors import BackendClosedError, CompactedError
from corral.storage.sqlite.datastore import BUSY_TIMEOUT_MS
from corral.storage.sqlite.failures import from_sqlite
from corral.storage.sqlite.threads import Workers
from corral.storage.types import Event, EventType, KeyValue, ListResult

T = TypeVar("T")

_BOUNDS = (
    "SELECT (SELECT value FROM meta WHERE key = 'revision'),"
    " (SELECT value FROM meta WHERE key = 'compacted')"
)
_GET = (
    "SELECT k.name, k.value, k.create_revision, k.id, k.lease FROM current AS c"
    " JOIN kv AS k ON k.id = c.revision WHERE c.name = ?"
)
_GET_AT = (
    "SELECT name, value, create_revision, id, lease, deleted FROM kv"
    " WHERE name = ? AND id <= ? ORDER BY id DESC LIMIT 1"
)
_LIST = (
    "SELECT k.name, k.value, k.create_revision, k.id, k.lease FROM current AS c"
    " JOIN kv AS k ON k.id = c.revision"
    " WHERE c.name >= ? AND c.name <> ? {upper} ORDER BY c.name LIMIT ?"
)
# The newest row of each key at or before revision ?3, unless it is a tombstone.
_LIST_AT = (
    "SELECT k.name, k.value, k.create_revision, k.id, k.lease FROM kv AS k"
    " WHERE k.name >= ?1 AND k.name <> ?2 {upper} AND k.id <= ?3 AND k.deleted = 0"
    " AND k.id = (SELECT MAX(o.id) FROM kv AS o WHERE o.name = k.name AND o.id <= ?3)"
    " ORDER BY k.name LIMIT ?4"
)
_COUNT = "SELECT COUNT(*) FROM current WHERE name >= ? {upper}"
# "+name" keeps the planner on the revision range (the primary key).
_EVENTS = (
    "SELECT id, name, created, deleted, create_revision, prev_revision, lease, value FROM kv"
    " WHERE id > ? AND id <= ? AND +name >= ? {upper} ORDER BY id LIMIT ?"
)
_EXPIRED = "SELECT name, revision FROM current WHERE expires_at <= ? ORDER BY expires_at LIMIT ?"
_WRITTEN_BEFORE = "SELECT id FROM kv WHERE id <= ? AND ts < ? ORDER BY id DESC LIMIT 1"


def _ranged(sql: str, bound: str) -> tuple[str, str]:
    """``sql`` without an upper key bound, and with ``bound``; indexed by "has a bound"."""
    return sql.replace(" {upper}", ""), sql.replace("{upper}", bound)


_LISTS = _ranged(_LIST, "AND c.name < ?")
_LISTS_AT = _ranged(_LIST_AT, "AND k.name < ?5")
_COUNTS = _ranged(_COUNT, "AND name < ?")
_EVENTS_BY = _ranged(_EVENTS, "AND +name < ?")

#: Expired keys handed to the TTL sweeper per sweep.
EXPIRED_BATCH = 1000


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix``.

    None when there is none (empty prefix, or only U+10FFFF characters).
    """
    stripped = prefix.rstrip("\U0010ffff")
    if not stripped:
        return None
    return stripped[:-1] + chr(ord(stripped[-1]) + 1)


def _kv(row: tuple[str, bytes, int, int, int]) -> KeyValue:
    return KeyValue(row[0], row[1], row[2], row[3], row[4])


class Reader:
    """A pool of read connections to one datastore file."""

    def __init__(self, path: str, threads: int) -> None:
        self._path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._threads = Workers(threads, "corral-sqlite-reader")
        self._closed = False

    async def close(self) -> None:
        """Wait for reads in progress, then close every connection."""
        self._closed = True
        await self._threads.stop()
        with self._lock:
            connections, self._connections = self._connections, []
        try:
            for conn in connections:
                conn.close()
        except sqlite3.Error as err:
            raise from_sqlite(err, self._path) from None

    async def read(self, query: Callable[[sqlite3.Connection], T], *, snapshot: bool) -> T:
        """Run ``query`` on a pool thread (in one read transaction if ``snapshot``)."""
        if self._closed:
            raise BackendClosedError()
        try:
            return await self._threads.submit(lambda: self._run(query, snapshot))
        except sqlite3.Error as err:
            raise from_sqlite(err, self._path) from None

    def _run(self, query: Callable[[sqlite3.Connection], T], snapshot: bool) -> T:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
        if not snapshot:
            return query(conn)
        conn.execute("BEGIN")
        try:
            return query(conn)
        finally:
            conn.execute("COMMIT")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA query_only = 1")
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)
        return conn


# -- queries, run on a pool thread ------------------------------------------------


def bounds(conn: sqlite3.Connection) -> tuple[int, int]:
    """(current revision, compacted revision) of the connection's snapshot."""
    current, compacted = conn.execute(_BOUNDS).fetchone()
    return current, compacted


def get(conn: sqlite3.Connection, key: str, revision: int) -> KeyValue | None:
    """The key at ``revision`` (0: now); snapshot required when ``revision`` != 0."""
    if revision:
        current, compacted = bounds(conn)
        check_read_revision(revision, current, compacted)
        if revision < current:
            row = conn.execute(_GET_AT, (key, revision)).fetchone()
            return None if row is None or row[5] else _kv(row)
    row = conn.execute(_GET, (key,)).fetchone()
    return None if row is None else _kv(row)


def list_page(
    conn: sqlite3.Connection, prefix: str, revision: int, limit: int, start_after: str
) -> ListResult:
    """One page of live keys under ``prefix`` at ``revision`` (0: now). Needs a snapshot."""
    current, compacted = bounds(conn)
    check_read_revision(revision, current, compacted)
    end = prefix_end(prefix)
    fetch = limit + 1 if limit else -1
    # One lower bound, so the index range starts at the right key.
    start = max(prefix, start_after)
    if revision in (0, current):
        sql = _LISTS[end is not None]
        args: tuple[object, ...] = (start, start_after, fetch)
        if end is not None:
            args = (start, start_after, end, fetch)
    else:
        sql = _LISTS_AT[end is not None]
        args = (start, start_after, revision, fetch)
        if end is not None:
            args = (*args, end)
    items = [_kv(row) for row in conn.execute(sql, args)]
    more = bool(limit) and len(items) > limit
    if more:
        del items[limit:]
    return ListResult(items, revision or current, more)


def count(conn: sqlite3.Connection, prefix: str) -> tuple[int, int]:
    """(live keys under ``prefix``, revision counted at). Needs a snapshot."""
    current, _ = bounds(conn)
    end = prefix_end(prefix)
    args = (prefix,) if end is None else (prefix, end)
    (number,) = conn.execute(_COUNTS[end is not None], args).fetchone()
    return number, current


def events_after(
    conn: sqlite3.Connection, prefix: str, after: int, upto: int, limit: int
) -> tuple[list[Event], int]:
    """History for a watch (see `corral.storage.watch.History`). Needs a snapshot."""
    _, compacted = bounds(conn)
    if after < compacted:
        raise CompactedError(after, compacted)
    end = prefix_end(prefix)
    args: tuple[object, ...] = (after, upto, prefix, limit)
    if end is not None:
        args = (after, upto, prefix, end, limit)
    events = []
    for rev, name, created, deleted, create_rev, prev, lease, value in conn.execute(
        _EVENTS_BY[end is not None], args
    ):
        kind = EventType.CREATE if created else EventType.DELETE if deleted else EventType.UPDATE
        events.append(Event(kind, KeyValue(name, value, create_rev, rev, lease), prev))
    if len(events) == limit:
        return events, events[-1].kv.mod_revision
    return events, upto


def expired(conn: sqlite3.Connection, now: float) -> list[tuple[str, int]]:
    """(key, revision) of live keys whose lease ended by ``now``, soonest first."""
    return conn.execute(_EXPIRED, (now, EXPIRED_BATCH)).fetchall()


def written_before(conn: sqlite3.Connection, revision: int, when: float) -> int:
    """The newest revision <= ``revision`` written before ``when`` (0 if none)."""
    row = conn.execute(_WRITTEN_BEFORE, (revision, when)).fetchone()
    return 0 if row is None else int(row[0])
