"""The read queries of the PostgreSQL driver, each on one pooled connection.

The algorithms are the SQLite driver's (docs/storage.md, "A read"): get,
list and count at the current revision read ``corral_current``; a read at an
older revision R walks each key written after R back along
``prev_revision``. What this module decides is the snapshot: a read of more
than one statement runs in one REPEATABLE READ, read-only transaction (the
caller opens it), so the rows and the revision reported (``corral_meta``,
written in the same transaction as every write) come from one snapshot.

Prefixes become key ranges ``[prefix, prefix_end)``, served by the primary
key of ``corral_current`` (``COLLATE "C"``, code point order).
"""

from __future__ import annotations

import asyncpg

from corral.storage.base import check_read_revision
from corral.storage.errors import CompactedError
from corral.storage.types import Event, EventType, KeyValue, ListResult

Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

BOUNDS = "SELECT revision, compacted FROM corral_meta WHERE id = 1"
_GET = (
    "SELECT k.name, k.value, k.create_revision, k.id, k.lease FROM corral_current AS c"
    " JOIN corral_kv AS k ON k.id = c.revision WHERE c.name = $1 AND NOT c.deleted"
)
# Each range query comes in two forms, without and with an upper key bound
# (`_ranged`): a bound written as "($n IS NULL OR name < $n)" is not an index
# condition in a generic plan, which would then scan to the end of the table.
_LIST = (
    "SELECT k.name, k.value, k.create_revision, k.id, k.lease FROM corral_current AS c"
    " JOIN corral_kv AS k ON k.id = c.revision"
    " WHERE c.name >= $1 AND c.name <> $2 {upper}"
    " AND NOT c.deleted ORDER BY c.name LIMIT $3"
)
_NEWEST = "SELECT revision FROM corral_current WHERE name = $1"
_NEWEST_IN = (
    "SELECT revision, deleted FROM corral_current"
    " WHERE name >= $1 AND name <> $2 {upper} ORDER BY name"
)
_ROW = (
    "SELECT name, value, create_revision, id, lease, created, deleted, prev_revision"
    " FROM corral_kv WHERE id = $1"
)
_COUNT = "SELECT count(*) FROM corral_current WHERE name >= $1 {upper} AND NOT deleted"
_EVENTS = (
    "SELECT id, name, created, deleted, create_revision, prev_revision, lease, value"
    " FROM corral_kv WHERE id > $1 AND id <= $2"
    " AND name >= $3 AND ($4::text IS NULL OR name < $4) ORDER BY id LIMIT $5"
)
_EXPIRED = (
    "SELECT name, revision FROM corral_current WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2"
)
_WRITTEN_BEFORE = "SELECT max(id) FROM corral_kv WHERE id <= $1 AND ts < $2"


def _ranged(sql: str, bound: str) -> tuple[str, str]:
    """``sql`` without an upper key bound, and with ``bound``; indexed by "has a bound"."""
    return sql.replace(" {upper}", ""), sql.replace("{upper}", bound)


_LISTS = _ranged(_LIST, "AND c.name < $4")
_NEWEST_INS = _ranged(_NEWEST_IN, "AND name < $3")
_COUNTS = _ranged(_COUNT, "AND name < $2")

#: Expired keys handed to the TTL sweeper per sweep.
EXPIRED_BATCH = 1000


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix``."""
    stripped = prefix.rstrip("\U0010ffff")
    if not stripped:
        return None
    return stripped[:-1] + chr(ord(stripped[-1]) + 1)


def _kv(row: asyncpg.Record) -> KeyValue:
    return KeyValue(row[0], row[1], row[2], row[3], row[4])


async def bounds(conn: Connection) -> tuple[int, int]:
    """(current revision, compacted revision), in the connection's snapshot."""
    row = await conn.fetchrow(BOUNDS)
    assert row is not None
    return int(row[0]), int(row[1])


async def get(conn: Connection, key: str, revision: int) -> KeyValue | None:
    """The key at ``revision`` (0: now); in a snapshot when ``revision`` != 0."""
    if revision:
        current, compacted = await bounds(conn)
        check_read_revision(revision, current, compacted)
        if revision < current:
            newest = await conn.fetchval(_NEWEST, key)
            return None if newest is None else await _as_of(conn, newest, revision)
    row = await conn.fetchrow(_GET, key)
    return None if row is None else _kv(row)


async def list_page(
    conn: Connection, prefix: str, revision: int, limit: int, start_after: str
) -> ListResult:
    """One page of live keys under ``prefix`` at ``revision`` (0: now). In a snapshot."""
    current, compacted = await bounds(conn)
    check_read_revision(revision, current, compacted)
    end = prefix_end(prefix)
    start = max(prefix, start_after)
    fetch = limit + 1 if limit else None
    items: list[KeyValue]
    if revision in (0, current):
        bounded = () if end is None else (end,)
        rows = await conn.fetch(_LISTS[end is not None], start, start_after, fetch, *bounded)
        items = [_kv(row) for row in rows]
    else:
        items = await _list_as_of(conn, start, start_after, end, revision, fetch)
    more = bool(limit) and len(items) > limit
    if more:
        del items[limit:]
    return ListResult(items, revision or current, more)


async def _as_of(conn: Connection, newest: int, revision: int) -> KeyValue | None:
    """The key whose newest row is ``newest``, as it was at ``revision`` (or None)."""
    row = await conn.fetchrow(_ROW, newest)
    while row is not None and row[3] > revision:
        if not row[7]:  # created after the revision, and never before: absent then
            return None
        row = await conn.fetchrow(_ROW, row[7])
    if row is None:  # a create's tombstone, compacted: deleted long before
        return None
    return None if row[6] else _kv(row)


async def _list_as_of(
    conn: Connection,
    start: str,
    start_after: str,
    end: str | None,
    revision: int,
    fetch: int | None,
) -> list[KeyValue]:
    """Live keys of a range at an older ``revision``, at most ``fetch`` (None: all)."""
    items: list[KeyValue] = []
    bounded = () if end is None else (end,)
    for newest, deleted in await conn.fetch(
        _NEWEST_INS[end is not None], start, start_after, *bounded
    ):
        if newest <= revision:
            if deleted:
                continue
            row = await conn.fetchrow(_ROW, newest)
            if row is None:
                continue
            found: KeyValue | None = _kv(row)
        else:
            found = await _as_of(conn, newest, revision)
        if found is None:
            continue
        items.append(found)
        if len(items) == fetch:
            break
    return items


async def count(conn: Connection, prefix: str) -> tuple[int, int]:
    """(live keys under ``prefix``, revision counted at). In a snapshot."""
    current, _ = await bounds(conn)
    end = prefix_end(prefix)
    bounded = () if end is None else (end,)
    number = await conn.fetchval(_COUNTS[end is not None], prefix, *bounded)
    return int(number), current


async def events_after(
    conn: Connection, prefix: str, after: int, upto: int, limit: int
) -> tuple[list[Event], int]:
    """History for a watch (see `corral.storage.watch.History`). In a snapshot."""
    _, compacted = await bounds(conn)
    if after < compacted:
        raise CompactedError(after, compacted)
    rows = await conn.fetch(_EVENTS, after, upto, prefix, prefix_end(prefix), limit)
    events = []
    for rev, name, created, deleted, create_rev, prev, lease, value in rows:
        kv = KeyValue(name, value, create_rev, rev, lease)
        if created:  # its prev_revision is the tombstone it follows, not a state
            events.append(Event(EventType.CREATE, kv))
        else:
            events.append(Event(EventType.DELETE if deleted else EventType.UPDATE, kv, prev))
    if len(events) == limit:
        return events, events[-1].kv.mod_revision
    return events, upto


async def expired(conn: Connection, now: float) -> list[tuple[str, int]]:
    """(key, revision) of live keys whose lease ended by ``now``, soonest first."""
    return [(row[0], row[1]) for row in await conn.fetch(_EXPIRED, now, EXPIRED_BATCH)]


async def written_before(conn: Connection, revision: int, when: float) -> int:
    """The newest revision <= ``revision`` written before ``when`` (0 if none)."""
    found = await conn.fetchval(_WRITTEN_BEFORE, revision, when)
    return 0 if found is None else int(found)
