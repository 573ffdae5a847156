"""Writes handed to a group-commit writer: what the SQL drivers share.

SQLite and PostgreSQL both funnel every write through one writer that commits
what arrives together in one transaction (DESIGN §4, "Commit together"), each
write keeping its own revision. Their backends differ in how they read and
commit, not in how a write is queued, so the verbs live here once: a write is
checked, queued, and acknowledged when its batch has committed; compaction is
queued in chunks so that one huge compaction never holds the writer for long.
"""

from __future__ import annotations

import abc
import asyncio
from typing import Any, Protocol

from corral.storage.base import LogBackend, check_write
from corral.storage.errors import BackendClosedError, FutureRevisionError
from corral.storage.types import KeyValue

#: What a queued op does (the writer's ``kind`` argument).
CREATE, UPDATE, DELETE, COMPACT = 0, 1, 2, 3
#: The metric label of each write kind (``VERBS[CREATE]``…).
VERBS = ("create", "update", "delete")
#: A queued op: (kind, key, value, expected revision, ttl, future). For
#: COMPACT, the expected revision is the revision to compact to.
Op = tuple[int, str, bytes, int, int, "asyncio.Future[Any]"]
#: Revisions compacted per queued compaction op.
COMPACT_CHUNK = 2000


class WriteQueue(Protocol):
    """A group-commit writer: ``submit`` resolves once the op's batch committed."""

    def submit(
        self, kind: int, key: str, value: bytes, expected: int, ttl: int
    ) -> asyncio.Future[Any]: ...


class QueuedWritesBackend(LogBackend):
    """A `LogBackend` whose writes go through a `WriteQueue`."""

    @abc.abstractmethod
    def _write_queue(self) -> WriteQueue | None:
        """The running writer (None before start and after close)."""

    def _check(self, key: str, value: bytes, ttl: int) -> None:
        """Refuse what the datastore cannot store (drivers may add rules)."""
        check_write(key, value, ttl)

    def _submit(
        self, kind: int, key: str, value: bytes, expected: int, ttl: int
    ) -> asyncio.Future[Any]:
        queue = self._write_queue()
        if self._closed or queue is None:
            raise BackendClosedError()
        return queue.submit(kind, key, value, expected, ttl)

    async def create(self, key: str, value: bytes, *, ttl: int = 0) -> KeyValue:
        self._check(key, value, ttl)
        kv: KeyValue = await self._submit(CREATE, key, value, 0, ttl)
        return kv

    async def update(
        self, key: str, value: bytes, *, expected_revision: int, ttl: int = 0
    ) -> KeyValue:
        self._check(key, value, ttl)
        kv: KeyValue = await self._submit(UPDATE, key, value, expected_revision, ttl)
        return kv

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        kv: KeyValue = await self._submit(DELETE, key, b"", expected_revision, 0)
        return kv

    async def compact(self, revision: int) -> int:
        current, compacted = await self._snapshot()
        if revision > current:
            raise FutureRevisionError(revision, current)
        while compacted < revision:
            target = min(compacted + COMPACT_CHUNK, revision)
            compacted = await self._submit(COMPACT, "", b"", target, 0)
        return compacted
