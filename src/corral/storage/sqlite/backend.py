"""`SQLiteBackend`: the default driver, one SQLite file in WAL mode.

This module only glues the pieces together: `datastore` opens the file (on the
writer's thread), `writer` commits writes in groups, `reader` runs reads on a
small pool, and `LogBackend` adds watches, TTL sweeps and compaction. It also
decides how compaction is cut into chunks: each chunk covers
`COMPACT_CHUNK` revisions and is one op in the writer's queue, so ordinary
writes are never stuck behind a long compaction.
"""

from __future__ import annotations

import builtins
import os

from corral.storage.errors import BackendClosedError
from corral.storage.options import StorageOptions
from corral.storage.queuedwrites import QueuedWritesBackend
from corral.storage.sqlite import reader as queries
from corral.storage.sqlite.datastore import open_datastore
from corral.storage.sqlite.reader import Reader
from corral.storage.sqlite.threads import Workers
from corral.storage.sqlite.writer import Writer
from corral.storage.types import Event, KeyValue, ListResult

#: Revisions compacted per writer op.


class SQLiteBackend(QueuedWritesBackend):
    """A revisioned key-value log in one SQLite file (see docs/storage.md)."""

    exclusive = True  # the file is locked (flock) by this process

    def __init__(
        self,
        path: str | os.PathLike[str],
        options: StorageOptions | None = None,
        *,
        read_threads: int = 2,
    ) -> None:
        super().__init__(options)
        self.path = os.fspath(path)
        self._read_threads = read_threads
        self._writer: Writer | None = None
        self._reader: Reader | None = None

    @property
    def commits(self) -> int:
        """Transactions committed since start: a statistic for tests and benchmarks."""
        return 0 if self._writer is None else self._writer.commits

    async def _open(self) -> int:
        thread = Workers(1, "corral-sqlite-writer")
        try:
            store = await thread.submit(lambda: open_datastore(self.path))
        except BaseException:
            await thread.stop()
            raise
        self._writer = Writer(
            store, thread, self.path, self.options.max_batch, self._broadcaster.publish
        )
        self._reader = Reader(self.path, self._read_threads)
        return store.revision

    async def _shutdown(self) -> None:
        assert self._writer is not None
        assert self._reader is not None
        try:
            await self._reader.close()
        finally:
            await self._writer.stop()

    def _write_queue(self) -> Writer | None:
        return self._writer

    # -- reads -----------------------------------------------------------------

    def _pool(self) -> Reader:
        if self._closed or self._reader is None:
            raise BackendClosedError()
        return self._reader

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        return await self._pool().read(
            lambda conn: queries.get(conn, key, revision), snapshot=revision != 0
        )

    async def list(
        self,
        prefix: str,
        *,
        revision: int = 0,
        limit: int = 0,
        start_after: str = "",
    ) -> ListResult:
        return await self._pool().read(
            lambda conn: queries.list_page(conn, prefix, revision, limit, start_after),
            snapshot=True,
        )

    async def count(self, prefix: str) -> tuple[int, int]:
        return await self._pool().read(lambda conn: queries.count(conn, prefix), snapshot=True)

    # -- the driver's part of watch, TTL and compaction ---------------------------

    async def _snapshot(self) -> tuple[int, int]:
        return await self._pool().read(queries.bounds, snapshot=False)

    async def _events_after(
        self, prefix: str, after: int, upto: int, limit: int
    ) -> tuple[builtins.list[Event], int]:
        return await self._pool().read(
            lambda conn: queries.events_after(conn, prefix, after, upto, limit), snapshot=True
        )

    async def _expired(self, now: float) -> builtins.list[tuple[str, int]]:
        return await self._pool().read(lambda conn: queries.expired(conn, now), snapshot=False)

    async def _newest_written_before(self, revision: int, when: float) -> int:
        return await self._pool().read(
            lambda conn: queries.written_before(conn, revision, when), snapshot=False
        )
