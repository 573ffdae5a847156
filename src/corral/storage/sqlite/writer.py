"""The group-commit writer: every write of the SQLite driver goes through here.

With ``synchronous=FULL`` each commit waits for an fsync, so throughput comes
from sharing commits (DESIGN §7, "commit together"). Write coroutines append
an op and a future to a queue. When the writer is idle, the first op
schedules a dispatch for the next turn of the event loop (so that every
writer already woken joins it); the dispatch takes everything pending (up to
``max_batch``), hops once to the writer thread and commits it in ONE
transaction. While a batch commits, new writes queue up, and the end of the
commit dispatches them. The batch size follows the load by itself, with no
timer and no writer task.

What this module decides:

- Each op gets its own next revision and its own outcome: a lost
  compare-and-swap fails only that op and consumes no revision.
- Futures are resolved, and the batch's events published, only after COMMIT
  has returned, in revision order.
- If the transaction fails, it is rolled back, the revision counter stays at
  the last committed revision (revisions are reused only if never committed),
  and every op of the batch gets a `StorageError`.
- Compaction runs through the same queue, one chunk per op, so it holds the
  write lock only briefly and is ordered with the writes around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from corral.storage import metrics
from corral.storage.errors import (
    KeyExistsError,
    KeyNotFoundError,
    RevisionMismatchError,
    StorageError,
)
from corral.storage.queuedwrites import COMPACT, CREATE, DELETE, UPDATE, VERBS, Op
from corral.storage.sqlite.datastore import Datastore
from corral.storage.sqlite.failures import from_os, from_sqlite
from corral.storage.sqlite.threads import Workers
from corral.storage.types import Event, EventType, KeyValue

log = logging.getLogger(__name__)


_NEWEST = "SELECT revision, deleted FROM current WHERE name = ?"
_CLAIM = (
    "INSERT INTO current (name, revision, deleted, expires_at) VALUES (?, ?, 0, ?)"
    " ON CONFLICT (name) DO NOTHING"
)
_RECLAIM = "UPDATE current SET revision = ?, deleted = 0, expires_at = ? WHERE name = ?"
_LIVE = (
    "SELECT c.revision, k.create_revision FROM current AS c"
    " JOIN kv AS k ON k.id = c.revision WHERE c.name = ? AND c.deleted = 0"
)
_LIVE_VALUE = (
    "SELECT c.revision, k.create_revision, k.value, k.lease FROM current AS c"
    " JOIN kv AS k ON k.id = c.revision WHERE c.name = ? AND c.deleted = 0"
)
_MOVE = "UPDATE current SET revision = ?, expires_at = ? WHERE name = ?"
_BURY = "UPDATE current SET revision = ?, deleted = 1, expires_at = NULL WHERE name = ?"
_APPEND = (
    "INSERT INTO kv (id, name, created, deleted, create_revision, prev_revision, lease, ts, value)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SET_META = "UPDATE meta SET value = ? WHERE key = ?"
# Compacting (lo, hi] after (.., lo] was compacted: every row that a row in
# (lo, hi] replaced (its prev_revision) is superseded; then the tombstones in
# (lo, hi] go, from `current` too where they are still the key's newest row.
_DROP_SUPERSEDED = (
    "DELETE FROM kv WHERE id IN (SELECT prev_revision FROM kv"
    " WHERE id > ? AND id <= ? AND prev_revision > 0)"
)
_FORGET_TOMBSTONES = (
    "DELETE FROM current WHERE deleted = 1 AND revision > ?1 AND revision <= ?2"
    " AND name IN (SELECT name FROM kv WHERE id > ?1 AND id <= ?2 AND deleted = 1)"
)
_DROP_TOMBSTONES = "DELETE FROM kv WHERE id > ? AND id <= ? AND deleted = 1"


class Writer:
    """Queues writes and commits them in batches on the writer thread."""

    def __init__(
        self,
        store: Datastore,
        thread: Workers,
        path: str,
        max_batch: int,
        publish: Callable[[Sequence[Event]], None],
    ) -> None:
        self._store = store
        self._cursor = store.conn.cursor()
        self._thread = thread
        self._path = path
        self._max_batch = max(1, max_batch)
        self._publish = publish
        self._loop = asyncio.get_running_loop()
        # The newest committed revision and compaction point; only _commit
        # (on the writer thread) reads or changes them.
        self._revision = store.revision
        self._compacted = store.compacted
        #: Transactions committed since start (a statistic for tests and benchmarks).
        self.commits = 0
        self._pending: deque[Op] = deque()
        self._scheduled = False
        self._busy = False
        self._drained: asyncio.Future[None] | None = None

    def submit(
        self, kind: int, key: str, value: bytes, expected: int, ttl: int
    ) -> asyncio.Future[Any]:
        """Queue one op; the future resolves once its batch has committed."""
        future: asyncio.Future[Any] = self._loop.create_future()
        self._pending.append((kind, key, value, expected, ttl, future))
        if not self._busy and not self._scheduled:
            self._schedule()
        return future

    async def stop(self) -> None:
        """Commit what is queued, then close the connection and release the lock."""
        if self._pending or self._busy:
            self._drained = self._loop.create_future()
            await self._drained
        try:
            await self._thread.submit(self._store.close)
        except sqlite3.Error as err:
            raise from_sqlite(err, self._path) from None
        except OSError as err:
            raise from_os(err, self._path, "close datastore") from None
        finally:
            await self._thread.stop()

    def _schedule(self) -> None:
        # Dispatch on the next loop iteration, not now: the writers woken by
        # the last commit are already scheduled and get to join this batch.
        self._scheduled = True
        self._loop.call_soon(self._dispatch)

    def _dispatch(self) -> None:
        self._scheduled = False
        pending = self._pending
        if self._busy or not pending:
            return
        if len(pending) <= self._max_batch:
            batch = list(pending)
            pending.clear()
        else:
            batch = [pending.popleft() for _ in range(self._max_batch)]
        self._busy = True
        started = time.perf_counter()
        done = self._thread.submit(lambda: self._commit(batch))
        done.add_done_callback(lambda done: self._committed(batch, started, done))

    def _committed(
        self,
        batch: list[Op],
        started: float,
        done: asyncio.Future[tuple[list[object], list[Event]]],
    ) -> None:
        self._busy = False
        error = done.exception()
        if error is None:
            outcomes, events = done.result()
            metrics.COMMIT_SECONDS.observe(time.perf_counter() - started)
            metrics.COMMIT_BATCH_SIZE.observe(len(batch))
            self._settle(batch, outcomes)
            self._publish(events)
        else:
            self._fail(batch, error)
        if self._pending:
            self._schedule()
        elif self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

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
        log.error("storage commit failed path=%s ops=%d error=%r", self._path, len(batch), str(err))
        for kind, _, _, _, _, future in batch:
            if kind != COMPACT:
                metrics.WRITE_RESULTS[VERBS[kind], "error"].inc()
            if future.done():
                continue
            if isinstance(err, sqlite3.Error):
                future.set_exception(from_sqlite(err, self._path))
            else:
                future.set_exception(StorageError(f"datastore {self._path}: commit failed: {err}"))

    def _commit(self, batch: list[Op]) -> tuple[list[object], list[Event]]:
        """Run on the writer thread: apply ``batch`` in one transaction."""
        cursor = self._cursor
        execute = cursor.execute
        revision = self._revision
        compacted = self._compacted
        now = time.time()
        outcomes: list[object] = []
        events: list[Event] = []
        execute("BEGIN IMMEDIATE")
        try:
            for kind, key, value, expected, ttl, _ in batch:
                if kind == CREATE:
                    # The common case, a key never seen, is one statement. A
                    # create after a delete links to the tombstone, so that a
                    # read in the past walks back through it (see reader).
                    expires = now + ttl if ttl else None
                    execute(_CLAIM, (key, revision + 1, expires))
                    tombstone = 0
                    if not cursor.rowcount:
                        newest = execute(_NEWEST, (key,)).fetchone()
                        if not newest[1]:
                            outcomes.append(KeyExistsError(key))
                            continue
                        tombstone = newest[0]
                        execute(_RECLAIM, (revision + 1, expires, key))
                    revision += 1
                    execute(_APPEND, (revision, key, 1, 0, revision, tombstone, ttl, now, value))
                    kv = KeyValue(key, value, revision, revision, ttl)
                    events.append(Event(EventType.CREATE, kv))
                elif kind == UPDATE:
                    row = execute(_LIVE, (key,)).fetchone()
                    if row is None or row[0] != expected:
                        outcomes.append(_refusal(key, expected, row))
                        continue
                    revision += 1
                    execute(_MOVE, (revision, now + ttl if ttl else None, key))
                    execute(_APPEND, (revision, key, 0, 0, row[1], expected, ttl, now, value))
                    kv = KeyValue(key, value, row[1], revision, ttl)
                    events.append(Event(EventType.UPDATE, kv, expected))
                elif kind == DELETE:
                    row = execute(_LIVE_VALUE, (key,)).fetchone()
                    if row is None or (expected and row[0] != expected):
                        outcomes.append(_refusal(key, expected, row))
                        continue
                    old, created, value, lease = row
                    revision += 1
                    execute(_BURY, (revision, key))
                    execute(_APPEND, (revision, key, 0, 1, created, old, lease, now, value))
                    kv = KeyValue(key, value, created, revision, lease)
                    events.append(Event(EventType.DELETE, kv, old))
                else:
                    if expected > compacted:
                        execute(_DROP_SUPERSEDED, (compacted, expected))
                        execute(_FORGET_TOMBSTONES, (compacted, expected))
                        execute(_DROP_TOMBSTONES, (compacted, expected))
                        execute(_SET_META, (expected, "compacted"))
                        compacted = expected
                    outcomes.append(compacted)
                    continue
                outcomes.append(kv)
            if revision != self._revision:
                execute(_SET_META, (revision, "revision"))
            execute("COMMIT")
        except BaseException:
            if self._store.conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    execute("ROLLBACK")
            raise
        self._revision = revision
        self._compacted = compacted
        self.commits += 1
        return outcomes, events


def _refusal(key: str, expected: int, row: tuple[Any, ...] | None) -> StorageError:
    if row is None:
        return KeyNotFoundError(key)
    return RevisionMismatchError(key, expected, row[0])
