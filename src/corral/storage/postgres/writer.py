"""The group-commit writer of the PostgreSQL driver.

Every write of this process goes through one connection. Write coroutines
append an op and a future to a queue; a writer task takes everything pending
(up to ``max_batch``) and commits it in ONE transaction, so concurrent writes
share the round trips and the WAL flush of one commit. No timer: with one
writer every commit carries one write, with sixteen about sixteen.

One transaction, a fixed number of round trips whatever the batch size:

1. BEGIN and lock the ``corral_meta`` row (``FOR UPDATE``): every process's
   writers queue on this lock, so revisions are allocated in commit order and
   a reader that sees revision R sees every row up to R;
2. read the newest revision and the ``corral_current`` rows of the batch's
   keys (with the live value, which a delete row carries);
3. decide every op in order in memory: each gets its own next revision and
   its own outcome (a lost compare-and-swap fails only that op and uses no
   revision);
4. in one statement over arrays: write the new ``corral_current`` rows,
   append the log rows, set the new revision and ``pg_notify`` it (delivered
   at COMMIT);
5. COMMIT.

After COMMIT the batch's events are handed to ``publish`` (which publishes
them in revision order after any other process's writes before them), and
only then are the futures resolved. If the transaction fails, every op of the
batch gets the `StorageError` its cause means (an unreachable server:
`DatastoreUnavailableError`), the connection is dropped, and the next batch
connects afresh. Compaction is an op too, alone in its batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from corral.storage import metrics
from corral.storage.errors import (
    BackendClosedError,
    KeyExistsError,
    KeyNotFoundError,
    RevisionMismatchError,
    StorageError,
)
from corral.storage.postgres.failures import TRANSLATED, from_postgres
from corral.storage.postgres.schema import CHANNEL
from corral.storage.queuedwrites import COMPACT, CREATE, UPDATE, VERBS, Op
from corral.storage.types import Event, EventType, KeyValue

log = logging.getLogger(__name__)


#: A key's row in corral_current as the batch sees it: (revision,
#: create_revision, deleted, value, lease); value and lease are the live row's.
State = tuple[int, int, bool, bytes, int]

_LOCK = "SELECT revision, compacted FROM corral_meta WHERE id = 1 FOR UPDATE"
# Sent as one simple query: one round trip opens the transaction and takes the lock.
_BEGIN_LOCKED = "BEGIN; SELECT 1 FROM corral_meta WHERE id = 1 FOR UPDATE"
# After the lock, so this statement's snapshot sees every earlier commit.
_STATES = (
    "SELECT m.revision, c.name, c.revision, c.create_revision, c.deleted, k.value, k.lease"
    " FROM corral_meta AS m"
    " LEFT JOIN corral_current AS c ON c.name = ANY($1::text[])"
    " LEFT JOIN corral_kv AS k ON k.id = c.revision AND NOT c.deleted"
    " WHERE m.id = 1"
)
# Every change of a batch in one statement: the keys' current rows, the log
# rows, the revision, and the notification (delivered at COMMIT).
_WRITE = (
    "WITH moved AS ("
    " INSERT INTO corral_current (name, revision, create_revision, deleted, expires_at)"
    " SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::boolean[],"
    " $5::double precision[])"
    " ON CONFLICT (name) DO UPDATE SET revision = EXCLUDED.revision,"
    " create_revision = EXCLUDED.create_revision, deleted = EXCLUDED.deleted,"
    " expires_at = EXCLUDED.expires_at),"
    " appended AS ("
    " INSERT INTO corral_kv"
    " (id, name, created, deleted, create_revision, prev_revision, lease, ts, value)"
    " SELECT * FROM unnest($6::bigint[], $7::text[], $8::boolean[], $9::boolean[],"
    " $10::bigint[], $11::bigint[], $12::integer[], $13::double precision[], $14::bytea[])),"
    " advanced AS (UPDATE corral_meta SET revision = $15 WHERE id = 1)"
    " SELECT pg_notify($16, $15::text)"
)
# Compacting (lo, hi] after (.., lo]: see docs/storage.md, "Compaction".
_DROP_SUPERSEDED = (
    "DELETE FROM corral_kv WHERE id IN (SELECT prev_revision FROM corral_kv"
    " WHERE id > $1 AND id <= $2 AND prev_revision > 0)"
)
# Driven from the log's revision range (its primary key), then each key's
# row by name: corral_current has no index on revisions.
_FORGET_TOMBSTONES = (
    "DELETE FROM corral_current AS c USING corral_kv AS k"
    " WHERE k.id > $1 AND k.id <= $2 AND k.deleted"
    " AND c.name = k.name AND c.revision = k.id AND c.deleted"
)
_DROP_TOMBSTONES = "DELETE FROM corral_kv WHERE id > $1 AND id <= $2 AND deleted"
_SET_COMPACTED = "UPDATE corral_meta SET compacted = $1 WHERE id = 1"

Connect = Callable[[], Awaitable[asyncpg.Connection]]
#: publish(revision before the batch, the batch's events), awaited before acks.
Publish = Callable[[int, Sequence[Event]], Awaitable[None]]


class Writer:
    """Queues writes and commits them in batches on one connection."""

    def __init__(self, connect: Connect, where: str, max_batch: int, publish: Publish) -> None:
        self._connect = connect
        self._where = where
        self._max_batch = max(1, max_batch)
        self._publish = publish
        self._conn: asyncpg.Connection | None = None
        self._pending: deque[Op] = deque()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="corral-postgres-writer")
        #: Transactions committed since start (a statistic for tests and benchmarks).
        self.commits = 0
        #: The newest revision this writer has committed or is committing: its
        #: own notification needs no catch-up, the writer publishes it.
        self.committing = 0
        #: Called when a batch fails: it may have committed after all (the
        #: connection broke during COMMIT), so someone must read the log.
        self.on_failure: Callable[[], None] = lambda: None

    def submit(
        self, kind: int, key: str, value: bytes, expected: int, ttl: int
    ) -> asyncio.Future[Any]:
        """Queue one op; the future resolves once its batch has committed."""
        if self._stopping:
            raise BackendClosedError()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((kind, key, value, expected, ttl, future))
        self._wake.set()
        return future

    async def stop(self) -> None:
        """Commit what is queued, then close the connection."""
        self._stopping = True
        self._wake.set()
        await self._task
        if self._conn is not None:
            with contextlib.suppress(*TRANSLATED):
                await self._conn.close(timeout=5)
            self._conn = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            # One turn of the loop: writers woken together join this batch.
            await asyncio.sleep(0)
            self._wake.clear()
            while self._pending:
                await self._commit_next()
            if self._stopping:
                return

    def _take(self) -> list[Op]:
        pending = self._pending
        if pending[0][0] == COMPACT:
            return [pending.popleft()]
        batch: list[Op] = []
        while pending and len(batch) < self._max_batch and pending[0][0] != COMPACT:
            batch.append(pending.popleft())
        return batch

    async def _commit_next(self) -> None:
        batch = self._take()
        started = time.perf_counter()
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await self._connect()
            before, outcomes, events = await self._commit(self._conn, batch)
        except asyncio.CancelledError:
            self._drop_connection()
            self._fail(batch, BackendClosedError())
            raise
        except Exception as err:
            self._drop_connection()
            self._fail(batch, err)
            self.on_failure()
            return
        self.commits += 1
        metrics.COMMIT_SECONDS.observe(time.perf_counter() - started)
        metrics.COMMIT_BATCH_SIZE.observe(len(batch))
        try:
            await self._publish(before, events)
        except Exception:
            # A bug; the follower publishes these events on its next catch-up.
            log.exception("storage publish failed datastore=%s", self._where)
        finally:
            self._settle(batch, outcomes)

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()

    def _settle(self, batch: list[Op], outcomes: list[object]) -> None:
        results = metrics.WRITE_RESULTS
        for op, outcome in zip(batch, outcomes, strict=True):
            kind, future = op[0], op[5]
            if isinstance(outcome, StorageError):
                if kind != COMPACT:
                    results[VERBS[kind], metrics.result_label(outcome)].inc()
                if not future.done():
                    future.set_exception(outcome)
            else:
                if kind != COMPACT:
                    results[VERBS[kind], "ok"].inc()
                if not future.done():
                    future.set_result(outcome)

    def _fail(self, batch: list[Op], err: BaseException) -> None:
        error = from_postgres(err, self._where) if isinstance(err, TRANSLATED) else None
        if error is None:
            log.error("storage commit failed datastore=%s ops=%d", self._where, len(batch))
            error = StorageError(f"datastore {self._where}: commit failed: {type(err).__name__}")
        else:
            log.warning(
                "storage commit failed datastore=%s ops=%d: %s", self._where, len(batch), error
            )
        for kind, _, _, _, _, future in batch:
            if kind != COMPACT:
                metrics.WRITE_RESULTS[VERBS[kind], "error"].inc()
            if not future.done():
                future.set_exception(error)

    async def _commit(
        self, conn: asyncpg.Connection, batch: list[Op]
    ) -> tuple[int, list[object], list[Event]]:
        """Apply ``batch`` in one transaction: (revision before it, outcomes, events).

        Four round trips whatever the batch's size: begin and lock, read the
        keys, write everything, commit. On an error the caller drops the
        connection, which rolls the transaction back.
        """
        if batch[0][0] == COMPACT:
            return await self._compact(conn, batch[0][3])
        await conn.execute(_BEGIN_LOCKED)
        keys = list({op[1] for op in batch})
        states: dict[str, State | None] = dict.fromkeys(keys)
        found = await conn.fetch(_STATES, keys)
        before = int(found[0][0])
        for _, name, rev, created, deleted, value, lease in found:
            if name is not None:
                states[name] = (rev, created, deleted, value or b"", lease or 0)
        outcomes, events, rows, expiry = _decide(batch, states, before, time.time())
        if not rows:
            await conn.execute("ROLLBACK")
            return before, outcomes, events
        names = list(expiry)
        final = [state for state in (states[name] for name in names) if state is not None]
        await conn.fetchval(
            _WRITE,
            names,
            [state[0] for state in final],
            [state[1] for state in final],
            [state[2] for state in final],
            [expiry[name] for name in names],
            *zip(*rows, strict=True),
            rows[-1][0],
            CHANNEL,
        )
        self.committing = rows[-1][0]
        await conn.execute("COMMIT")
        return before, outcomes, events

    async def _compact(
        self, conn: asyncpg.Connection, target: int
    ) -> tuple[int, list[object], list[Event]]:
        async with conn.transaction():
            row = await conn.fetchrow(_LOCK)
            assert row is not None
            before, compacted = int(row[0]), int(row[1])
            if target > compacted:
                await conn.execute(_DROP_SUPERSEDED, compacted, target)
                await conn.execute(_FORGET_TOMBSTONES, compacted, target)
                await conn.execute(_DROP_TOMBSTONES, compacted, target)
                await conn.execute(_SET_COMPACTED, target)
                compacted = target
        return before, [compacted], []


#: A log row: (id, name, created, deleted, create_revision, prev_revision, lease, ts, value).
Row = tuple[int, str, bool, bool, int, int, int, float, bytes]


def _decide(
    batch: list[Op], states: dict[str, State | None], revision: int, now: float
) -> tuple[list[object], list[Event], list[Row], dict[str, float | None]]:
    """Run the ops in order against ``states`` (updated in place).

    Returns each op's outcome, the events, the log rows to append, and the
    lease end of every key written (the keys whose current row changes).
    """
    outcomes: list[object] = []
    events: list[Event] = []
    rows: list[Row] = []
    expiry: dict[str, float | None] = {}
    for kind, key, value, expected, ttl, _ in batch:
        state = states[key]
        live = state is not None and not state[2]
        if kind == CREATE:
            if live:
                outcomes.append(KeyExistsError(key))
                continue
            revision += 1
            tombstone = 0 if state is None else state[0]
            states[key] = (revision, revision, False, value, ttl)
            expiry[key] = now + ttl if ttl else None
            rows.append((revision, key, True, False, revision, tombstone, ttl, now, value))
            kv = KeyValue(key, value, revision, revision, ttl)
            events.append(Event(EventType.CREATE, kv))
        elif state is None or state[2]:
            outcomes.append(KeyNotFoundError(key))
            continue
        elif (kind == UPDATE or expected) and state[0] != expected:
            outcomes.append(RevisionMismatchError(key, expected, state[0]))
            continue
        elif kind == UPDATE:
            old, created = state[0], state[1]
            revision += 1
            states[key] = (revision, created, False, value, ttl)
            expiry[key] = now + ttl if ttl else None
            rows.append((revision, key, False, False, created, old, ttl, now, value))
            kv = KeyValue(key, value, created, revision, ttl)
            events.append(Event(EventType.UPDATE, kv, old))
        else:
            old, created, _, last, lease = state
            revision += 1
            states[key] = (revision, created, True, last, lease)
            expiry[key] = None
            rows.append((revision, key, False, True, created, old, lease, now, last))
            kv = KeyValue(key, last, created, revision, lease)
            events.append(Event(EventType.DELETE, kv, old))
        outcomes.append(kv)
    return outcomes, events, rows, expiry
