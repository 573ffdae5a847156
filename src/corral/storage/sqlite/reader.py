"""Reads of the SQLite driver: a small pool of read connections and the queries.

Reads never wait for the writer: in WAL mode a reader sees the last commit
before its transaction began. Each read that needs more than one statement
(a list and its revision, a read at an older revision and the bounds that make
it valid) runs in ONE read transaction, so everything it returns comes from
one snapshot; ``meta.revision`` tells the snapshot's revision.

Connections live one per pool thread (thread-local), are opened lazily with
``query_only`` set, and are closed when the pool shuts down.

Prefixes become key ranges, ``prefix <= name < prefix_end(prefix)``, served by
the primary key of ``current``.

A read at an older revision R starts from ``current`` too, which still names
every key written after R (tombstones stay there until compaction passes
them, and compaction never passes a revision still readable). A key whose
newest row is at or before R is read as it is; otherwise its rows are walked
back along ``prev_revision`` (a create links to the tombstone it follows) to
the first one at or before R; a first create after R, or a tombstone already
compacted, means the key was absent at R. Only keys written since R take more
than one lookup.
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
    " JOIN kv AS k ON k.id = c.revision WHERE c.name = ? AND c.deleted = 0"
)
_LIST = (
    "SELECT k.name, k.value, k.create_revision, k.id, k.lease FROM current AS c"
    " JOIN kv AS k ON k.id = c.revision"
    " WHERE c.name >= ? AND c.name <> ? {upper} AND c.deleted = 0 ORDER BY c.name LIMIT ?"
)
_NEWEST = "SELECT revision FROM current WHERE name = ?"
# Every key in a range with its newest revision, live or not, in key order.
_NEWEST_IN = (
    "SELECT revision, deleted FROM current WHERE name >= ? AND name <> ? {upper} ORDER BY name"
)
_ROW = (
    "SELECT name, value, create_revision, id, lease, created, deleted, prev_revision"
    " FROM kv WHERE id = ?"
)
_COUNT = "SELECT COUNT(*) FROM current WHERE name >= ? {upper} AND deleted = 0"
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
_NEWEST_INS = _ranged(_NEWEST_IN, "AND name < ?")
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
            newest = conn.execute(_NEWEST, (key,)).fetchone()
            return None if newest is None else _as_of(conn, newest[0], revision)
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
    items: list[KeyValue]
    if revision in (0, current):
        sql = _LISTS[end is not None]
        args: tuple[object, ...] = (start, start_after, fetch)
        if end is not None:
            args = (start, start_after, end, fetch)
        items = [_kv(row) for row in conn.execute(sql, args)]
    else:
        items = _list_as_of(conn, start, start_after, end, revision, fetch)
    more = bool(limit) and len(items) > limit
    if more:
        del items[limit:]
    return ListResult(items, revision or current, more)


def _as_of(conn: sqlite3.Connection, newest: int, revision: int) -> KeyValue | None:
    """The key whose newest row is ``newest``, as it was at ``revision`` (or None)."""
    row = conn.execute(_ROW, (newest,)).fetchone()
    while row[3] > revision:
        if not row[7]:  # created after the revision, and never before: absent then
            return None
        row = conn.execute(_ROW, (row[7],)).fetchone()
        if row is None:  # a create's tombstone, compacted: deleted long before
            return None
    return None if row[6] else _kv(row)


def _list_as_of(
    conn: sqlite3.Connection,
    start: str,
    start_after: str,
    end: str | None,
    revision: int,
    fetch: int,
) -> list[KeyValue]:
    """Live keys of a range at an older ``revision``, at most ``fetch`` (-1: all)."""
    args: tuple[object, ...] = (start, start_after) if end is None else (start, start_after, end)
    items: list[KeyValue] = []
    for newest, deleted in conn.execute(_NEWEST_INS[end is not None], args):
        if newest <= revision:
            if deleted:
                continue
            kv = _kv(conn.execute(_ROW, (newest,)).fetchone())
        else:
            found = _as_of(conn, newest, revision)
            if found is None:
                continue
            kv = found
        items.append(kv)
        if len(items) == fetch:
            break
    return items


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
        if created:  # its prev_revision is the tombstone it follows, not a state
            events.append(Event(EventType.CREATE, KeyValue(name, value, create_rev, rev, lease)))
            continue
        kind = EventType.DELETE if deleted else EventType.UPDATE
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
