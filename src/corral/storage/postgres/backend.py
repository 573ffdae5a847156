"""`PostgresBackend`: the revisioned log in a PostgreSQL database.

Glue, and the one thing only this driver has to decide: publishing in
revision order when other processes write too. The pieces: `schema` checks
or creates the tables, `writer` group-commits this process's writes,
`queries` reads on a connection pool, `follower` learns of other processes'
commits (LISTEN/NOTIFY, polling while that is down), and `LogBackend` adds
watches, TTL sweeps and compaction.

Publishing (`_publish_own`, `_catch_up`) holds one lock, and always hands the
broadcaster the events right after the last published revision: a commit of
this process whose revisions follow a gap (another process committed in
between) first reads the gap from the log. A catch-up that finds the history
it needs compacted, or the log behind what was published (the database was
restored), ends every watch with `WatchOverflowError`, so watchers re-list
(410 Gone through the API server) rather than miss events.

Several processes may open one database: nothing here is exclusive. Only the
process holding the maintenance lock (see `follower`) sweeps leases and
compacts; `current_revision` reads the database.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import asyncpg

from corral.storage.base import check_write
from corral.storage.errors import (
    BackendClosedError,
    CompactedError,
    FutureRevisionError,
    StorageError,
)
from corral.storage.options import StorageOptions
from corral.storage.postgres import queries
from corral.storage.postgres.address import PostgresAddress
from corral.storage.postgres.failures import TRANSLATED, from_postgres
from corral.storage.postgres.follower import Follower
from corral.storage.postgres.schema import prepare
from corral.storage.postgres.writer import Writer
from corral.storage.queuedwrites import QueuedWritesBackend
from corral.storage.types import Event, KeyValue, ListResult
from corral.storage.watch import HISTORY_PAGE

log = logging.getLogger(__name__)

T = TypeVar("T")
Query = Callable[[queries.Connection], Awaitable[T]]

#: Revisions compacted per writer op.
#: Seconds a query may take before the datastore counts as unreachable.
COMMAND_TIMEOUT = 30.0


class PostgresBackend(QueuedWritesBackend):
    """A revisioned key-value log in a PostgreSQL database (see docs/storage.md)."""

    exclusive = False  # other processes may write to the same database

    def __init__(
        self,
        address: PostgresAddress,
        options: StorageOptions | None = None,
        *,
        pool_size: int = 8,
        poll_interval: float = 0.5,
        maintenance_retry: float = 5.0,
    ) -> None:
        super().__init__(options)
        self.address = address
        self.where = address.display
        self._pool_size = pool_size
        self._poll_interval = poll_interval
        self._maintenance_retry = maintenance_retry
        self._pool: asyncpg.Pool | None = None
        self._writer: Writer | None = None
        self._follower: Follower | None = None
        self._following: asyncio.Task[None] | None = None
        self._publishing = asyncio.Lock()
        # current_revision: the read that callers arriving now will share.
        self._revision_next: asyncio.Future[int] | None = None
        self._revision_reader: asyncio.Task[None] | None = None

    @property
    def commits(self) -> int:
        """Transactions committed since start: a statistic for tests and benchmarks."""
        return 0 if self._writer is None else self._writer.commits

    @property
    def follower(self) -> Follower | None:
        """How this process follows other processes' writes (None until started)."""
        return self._follower

    async def _connect(self) -> asyncpg.Connection:
        try:
            a = self.address
            conn: asyncpg.Connection = await asyncpg.connect(
                host=a.host,
                port=a.port,
                user=a.user,
                password=a.password,
                database=a.database,
                ssl=a.sslmode,
                timeout=a.connect_timeout,
                command_timeout=COMMAND_TIMEOUT,
            )
        except TRANSLATED as err:
            raise from_postgres(err, self.where) from None
        return conn

    async def _open(self) -> int:
        conn = await self._connect()
        try:
            revision, _ = await prepare(conn, self.where)
        except TRANSLATED as err:
            raise from_postgres(err, self.where) from None
        finally:
            await conn.close()
        try:
            a = self.address
            self._pool = await asyncpg.create_pool(
                host=a.host,
                port=a.port,
                user=a.user,
                password=a.password,
                database=a.database,
                ssl=a.sslmode,
                timeout=a.connect_timeout,
                # No floor to restore: while the server is down, nothing retries
                # in the background; the next read connects.
                min_size=0,
                max_size=self._pool_size,
                command_timeout=COMMAND_TIMEOUT,
            )
        except TRANSLATED as err:
            raise from_postgres(err, self.where) from None
        writer = Writer(self._connect, self.where, self.options.max_batch, self._publish_own)
        self._writer = writer
        self._follower = follower = Follower(
            self._connect,
            self._catch_up,
            # Up to here, the writer of this process publishes (gaps included).
            lambda: max(self._broadcaster.revision, writer.committing),
            self.where,
            poll_interval=self._poll_interval,
            maintenance_retry=self._maintenance_retry,
        )
        writer.on_failure = follower.wake
        self._following = asyncio.create_task(self._follower.run(), name="corral-postgres-follower")
        return revision

    async def _shutdown(self) -> None:
        try:
            if self._writer is not None:
                await self._writer.stop()
        finally:
            if self._following is not None:
                self._following.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._following
            if self._pool is not None:
                pool, self._pool = self._pool, None
                try:
                    await asyncio.wait_for(pool.close(), 5)
                except (*TRANSLATED, TimeoutError):
                    pool.terminate()

    # -- the current revision, read once for many callers ------------------------

    async def current_revision(self) -> int:
        """The newest committed revision, read from the database.

        Consistent reads ask this on every request, so concurrent callers share
        one query: a caller joins the next query to *start*, never one already
        running, so the answer still covers every write acknowledged before the
        call (linearizable, as etcd's batched revision reads).
        """
        self._check_open()
        future = self._revision_next
        if future is None:
            future = self._revision_next = asyncio.get_running_loop().create_future()
            # Read by someone even if every caller is cancelled meanwhile.
            future.add_done_callback(lambda f: f.cancelled() or f.exception())
            if self._revision_reader is None:
                self._revision_reader = asyncio.create_task(self._read_revisions())
        return await asyncio.shield(future)

    async def _read_revisions(self) -> None:
        try:
            while self._revision_next is not None:
                future, self._revision_next = self._revision_next, None
                try:
                    current, _ = await self._snapshot()
                except asyncio.CancelledError:
                    future.set_exception(BackendClosedError())
                    raise
                except Exception as err:
                    future.set_exception(err)
                else:
                    future.set_result(current)
        finally:
            self._revision_reader = None
            if self._revision_next is not None and not self._revision_next.done():
                self._revision_next.set_exception(BackendClosedError())
                self._revision_next = None

    # -- publishing in revision order ----------------------------------------------

    async def _publish_own(self, before: int, events: Sequence[Event]) -> None:
        """Publish a committed batch (revisions after ``before``), after any gap."""
        if not events:
            return
        async with self._publishing:
            broadcaster = self._broadcaster
            if broadcaster.revision < before:
                try:
                    await self._publish_history(before)
                except StorageError as err:
                    # The follower publishes it all once the log can be read again.
                    log.warning("storage catch-up failed datastore=%s: %s", self.where, err)
                    return
            fresh = [e for e in events if e.kv.mod_revision > broadcaster.revision]
            broadcaster.publish(fresh)

    async def _catch_up(self) -> None:
        """Publish every committed event not yet published (other processes' writes)."""
        if self._closed:
            return
        async with self._publishing:
            current, _ = await self._snapshot()
            if current < self._broadcaster.revision:
                log.warning(
                    "storage log of datastore=%s is behind what was published (%d < %d);"
                    " every watch must re-list",
                    self.where,
                    current,
                    self._broadcaster.revision,
                )
                self._broadcaster.cut_off()
                self._broadcaster.revision = current
                return
            await self._publish_history(current)

    async def _publish_history(self, upto: int) -> None:
        broadcaster = self._broadcaster
        while broadcaster.revision < upto:
            try:
                events, last = await self._read(
                    functools.partial(
                        queries.events_after,
                        prefix="",
                        after=broadcaster.revision,
                        upto=upto,
                        limit=HISTORY_PAGE,
                    ),
                    snapshot=True,
                    closing=True,
                )
            except FutureRevisionError:
                return
            except CompactedError:
                log.warning(
                    "storage history of datastore=%s was compacted before it was published;"
                    " every watch must re-list",
                    self.where,
                )
                broadcaster.cut_off()
                broadcaster.revision = upto
                return
            broadcaster.publish(events)
            broadcaster.revision = last

    # -- writes ----------------------------------------------------------------

    def _write_queue(self) -> Writer | None:
        return self._writer

    def _check(self, key: str, value: bytes, ttl: int) -> None:
        _check_key(key, value, ttl)

    # -- reads -----------------------------------------------------------------

    async def _read(self, query: Query[T], *, snapshot: bool, closing: bool = False) -> T:
        """Run ``query`` on a pooled connection; ``closing``: also while closing.

        Publishing reads the log while `close` commits the last writes.
        """
        pool = self._pool
        if pool is None or (self._closed and not closing):
            raise BackendClosedError()
        try:
            async with pool.acquire() as conn:
                if not snapshot:
                    return await query(conn)
                async with conn.transaction(isolation="repeatable_read", readonly=True):
                    return await query(conn)
        except TRANSLATED as err:
            raise from_postgres(err, self.where) from None

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        return await self._read(lambda c: queries.get(c, key, revision), snapshot=revision != 0)

    async def list(
        self,
        prefix: str,
        *,
        revision: int = 0,
        limit: int = 0,
        start_after: str = "",
    ) -> ListResult:
        return await self._read(
            lambda c: queries.list_page(c, prefix, revision, limit, start_after), snapshot=True
        )

    async def count(self, prefix: str) -> tuple[int, int]:
        return await self._read(lambda c: queries.count(c, prefix), snapshot=True)

    # -- the driver's part of watch, TTL and compaction ---------------------------

    async def _snapshot(self) -> tuple[int, int]:
        return await self._read(queries.bounds, snapshot=False)

    async def _events_after(
        self, prefix: str, after: int, upto: int, limit: int
    ) -> tuple[builtins.list[Event], int]:
        return await self._read(
            lambda c: queries.events_after(c, prefix, after, upto, limit), snapshot=True
        )

    async def _expired(self, now: float) -> builtins.list[tuple[str, int]]:
        if self._follower is None or not self._follower.maintainer:
            return []  # another process sweeps
        return await self._read(lambda c: queries.expired(c, now), snapshot=False)

    async def _newest_written_before(self, revision: int, when: float) -> int:
        if self._follower is None or not self._follower.maintainer:
            return 0  # another process compacts
        return await self._read(lambda c: queries.written_before(c, revision, when), snapshot=False)


def _check_key(key: str, value: bytes, ttl: int) -> None:
    check_write(key, value, ttl)
    if "\x00" in key:
        raise ValueError(f"a PostgreSQL datastore key cannot contain NUL: {key!r}")
