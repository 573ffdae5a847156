"""`EtcdBackend`: the revisioned log kept natively in etcd.

The log *is* etcd's: a storage key is an etcd key under the root, a revision
is etcd's revision (``mod_revision`` is the object's ``resourceVersion``), a
read at a revision is an etcd read at that revision. What this driver decides:

- One etcd transaction per object write, comparing ``create_revision == 0``
  for a create and ``mod_revision`` for an update or delete, so each write
  takes exactly one revision and a refused write takes none.
- TTLs are etcd leases (the lease ID carries the TTL, `keys`), shared by
  writes of the same TTL made close together (`leases`); etcd deletes the key
  when the lease ends, which reaches watchers as an ordinary delete. The
  shared TTL sweeper has nothing to do.
- Watches are served by one follower watch per process (`feed`) through the
  shared broadcaster, and history by a watch from the past (`history`), so
  the shared no-gap/no-duplicate algorithm (`corral.storage.watch`) applies
  unchanged. A write returns once the follower has published it.
- ``compact(R)`` is etcd's compaction at R; reads at R or before are then
  refused with `CompactedError` (etcd itself would still serve R), so every
  driver draws the same line. The point is etcd's own, learned at start and
  after each compaction.
- A new etcd's revision 1 (no key was ever written at it) is reported as
  0, the empty log's revision.
- Several processes may share one etcd and root (it is not ``exclusive``):
  ``current_revision`` asks etcd, one round trip shared by concurrent callers
  (`revision`).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from aetcd import rpc

from corral.storage import metrics
from corral.storage.base import LogBackend, check_write
from corral.storage.broadcaster import Subscription
from corral.storage.errors import (
    BackendClosedError,
    CompactedError,
    DatastoreError,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    RevisionMismatchError,
    StorageError,
)
from corral.storage.etcd import history
from corral.storage.etcd.address import EtcdAddress
from corral.storage.etcd.connection import Connection, EtcdRefusal
from corral.storage.etcd.events import key_value
from corral.storage.etcd.feed import Feed
from corral.storage.etcd.keys import range_end, ttl_of
from corral.storage.etcd.leases import LeasePool, LeaseTakenError
from corral.storage.etcd.revision import RevisionReader
from corral.storage.options import StorageOptions
from corral.storage.types import Event, EventType, KeyValue, ListResult

log = logging.getLogger(__name__)

#: Longest wait at close for writes already sent (seconds).
SHUTDOWN_WAIT = 10.0

_EQUAL = rpc.Compare.EQUAL
_GREATER = rpc.Compare.GREATER
_MOD = rpc.Compare.MOD
_CREATE = rpc.Compare.CREATE


class EtcdBackend(LogBackend):
    """A revisioned key-value log in an etcd v3 cluster (see docs/storage.md)."""

    exclusive = False  # other processes may write the same etcd

    def __init__(self, address: EtcdAddress, options: StorageOptions | None = None) -> None:
        super().__init__(options)
        self.address = address
        self._root = address.root.encode()
        self._root_length = len(self._root)
        self._connection: Connection | None = None
        self._feed: Feed | None = None
        self._compacted = 0
        #: Writes sent and not yet answered; closing waits for them.
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._revision = RevisionReader(lambda: self._revision_of(self._conn()))
        self._leases = LeasePool(self._grant)

    # -- lifecycle -------------------------------------------------------------

    async def _open(self) -> int:
        connection = Connection(self.address)
        try:
            revision = await self._revision_of(connection)
            self._compacted = await history.compacted_revision(connection, self._root)
            feed = Feed(
                connection,
                self._root,
                revision,
                self._broadcaster.publish,
                self._advance,
                self._cut_off_watchers,
            )
            await feed.start()
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        self._feed = feed
        return feed.revision

    async def _shutdown(self) -> None:
        # Writes already sent finish (and are published) before the follower
        # and the channel go; new ones are refused since close() began.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), SHUTDOWN_WAIT)
        await self._revision.close()
        try:
            if self._feed is not None:
                await self._feed.stop()
        finally:
            if self._connection is not None:
                await self._connection.close()

    def _advance(self, revision: int) -> None:
        # Revisions of keys outside the root are progress too: nothing under
        # the root changed there, and every event before them was handed over.
        self._broadcaster.revision = max(self._broadcaster.revision, revision)

    def _cut_off_watchers(self) -> None:
        # Events were lost (etcd compacted them before the follower read
        # them): every current watcher must re-list. They end as overflowed.
        groups = list(self._broadcaster._groups.values())
        for group in groups:
            for subscription in list(group):
                _overflow(self._broadcaster, subscription)

    def _conn(self) -> Connection:
        if self._closed or self._connection is None:
            raise BackendClosedError()
        return self._connection

    async def _revision_of(self, connection: Connection) -> int:
        response = await connection.call(connection.kv.Range, rpc.RangeRequest(key=self._root))
        return _log_revision(response.header.revision)

    def _key(self, key: str) -> bytes:
        return self._root + key.encode()

    # -- writes ------------------------------------------------------------------

    async def _commit(
        self, verb: str, request: object, event: Callable[[Any], Event] | None = None
    ) -> object:
        """Run one write transaction; count it; publish ``event(response)`` (the
        write's event, known from the response) and wait until it is published."""
        conn = self._conn()
        self._inflight += 1
        self._idle.clear()
        try:
            try:
                response = await conn.call(conn.kv.Txn, request)
            except StorageError as error:
                metrics.WRITE_RESULTS[verb, "error"].inc()
                raise _as_datastore_error(error) from None
            if response.succeeded:
                assert self._feed is not None
                if event is not None:
                    self._feed.committed(event(response))
                await self._feed.reached(response.header.revision)
                metrics.WRITE_RESULTS[verb, "ok"].inc()
            return response
        finally:
            self._inflight -= 1
            if not self._inflight:
                self._idle.set()

    def _refused(self, verb: str, error: StorageError) -> StorageError:
        metrics.WRITE_RESULTS[verb, metrics.result_label(error)].inc()
        return error

    async def _lease(self, ttl: int) -> int:
        return await self._leases.lease_for(ttl) if ttl else 0

    async def _grant(self, lease_id: int, seconds: int) -> None:
        conn = self._conn()
        try:
            await conn.call(conn.lease.LeaseGrant, rpc.LeaseGrantRequest(TTL=seconds, ID=lease_id))
        except DatastoreError as error:
            if "lease already exists" in str(error):
                raise LeaseTakenError() from None
            raise

    async def create(self, key: str, value: bytes, *, ttl: int = 0) -> KeyValue:
        check_write(key, value, ttl)
        lease = await self._lease(ttl)
        name = self._key(key)
        request = rpc.TxnRequest(
            compare=[rpc.Compare(key=name, target=_CREATE, result=_EQUAL, create_revision=0)],
            success=[rpc.RequestOp(request_put=rpc.PutRequest(key=name, value=value, lease=lease))],
        )

        def created(response: Any) -> Event:
            revision: int = response.header.revision
            return Event(EventType.CREATE, KeyValue(key, value, revision, revision, ttl))

        response = await self._commit("create", request, created)
        if not response.succeeded:  # type: ignore[attr-defined]
            raise self._refused("create", KeyExistsError(key))
        return created(response).kv

    async def update(
        self, key: str, value: bytes, *, expected_revision: int, ttl: int = 0
    ) -> KeyValue:
        check_write(key, value, ttl)
        lease = await self._lease(ttl)
        name = self._key(key)
        put = rpc.PutRequest(key=name, value=value, lease=lease, prev_kv=True)
        request = rpc.TxnRequest(
            compare=[
                rpc.Compare(key=name, target=_CREATE, result=_GREATER, create_revision=0),
                rpc.Compare(key=name, target=_MOD, result=_EQUAL, mod_revision=expected_revision),
            ],
            success=[rpc.RequestOp(request_put=put)],
            failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=name, keys_only=True))],
        )

        def updated(response: Any) -> Event:
            prev = response.responses[0].response_put.prev_kv
            kv = KeyValue(key, value, prev.create_revision, response.header.revision, ttl)
            return Event(EventType.UPDATE, kv, prev.mod_revision)

        response: object = await self._commit("update", request, updated)
        if not response.succeeded:  # type: ignore[attr-defined]
            raise self._refused("update", self._mismatch(key, expected_revision, response))
        return updated(response).kv

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        self._conn()
        name = self._key(key)
        compare = [rpc.Compare(key=name, target=_CREATE, result=_GREATER, create_revision=0)]
        if expected_revision:
            compare.append(
                rpc.Compare(key=name, target=_MOD, result=_EQUAL, mod_revision=expected_revision)
            )
        request = rpc.TxnRequest(
            compare=compare,
            success=[
                rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=name, prev_kv=True))
            ],
            failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=name, keys_only=True))],
        )

        def deleted(response: Any) -> Event:
            prev = response.responses[0].response_delete_range.prev_kvs[0]
            revision: int = response.header.revision
            kv = KeyValue(key, prev.value, prev.create_revision, revision, ttl_of(prev.lease))
            return Event(EventType.DELETE, kv, prev.mod_revision)

        response: object = await self._commit("delete", request, deleted)
        if not response.succeeded:  # type: ignore[attr-defined]
            raise self._refused("delete", self._mismatch(key, expected_revision, response))
        return deleted(response).kv

    @staticmethod
    def _mismatch(key: str, expected: int, response: object) -> StorageError:
        found = response.responses[0].response_range.kvs  # type: ignore[attr-defined]
        if not found:
            return KeyNotFoundError(key)
        return RevisionMismatchError(key, expected, found[0].mod_revision)

    # -- reads -------------------------------------------------------------------

    def _check_compacted(self, revision: int) -> None:
        if 0 < revision <= self._compacted:
            raise CompactedError(revision, self._compacted)

    async def _range(self, request: rpc.RangeRequest, revision: int) -> object:
        self._check_compacted(revision)
        conn = self._conn()
        try:
            return await conn.call(conn.kv.Range, request)
        except EtcdRefusal as refusal:
            if refusal.future:
                raise FutureRevisionError(revision, await self._revision_of(conn)) from None
            self._compacted = max(
                self._compacted, await history.compacted_revision(conn, self._root)
            )
            raise CompactedError(revision, self._compacted) from None

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        if revision < 0:
            raise ValueError(f"revision must be >= 0, not {revision}")
        request = rpc.RangeRequest(key=self._key(key), revision=revision)
        response: object = await self._range(request, revision)
        kvs = response.kvs  # type: ignore[attr-defined]
        return key_value(kvs[0], self._root_length) if kvs else None

    async def list(
        self,
        prefix: str,
        *,
        revision: int = 0,
        limit: int = 0,
        start_after: str = "",
    ) -> ListResult:
        if revision < 0:
            raise ValueError(f"revision must be >= 0, not {revision}")
        start = self._key(prefix)
        end = range_end(start)
        if start_after and self._key(start_after) >= start:
            start = self._key(start_after) + b"\x00"
        if start >= end and end != b"\x00":
            return ListResult([], revision or await self.current_revision(), False)
        request = rpc.RangeRequest(key=start, range_end=end, revision=revision, limit=limit)
        response: object = await self._range(request, revision)
        length = self._root_length
        items = [key_value(kv, length) for kv in response.kvs]  # type: ignore[attr-defined]
        read_at = revision or _log_revision(response.header.revision)  # type: ignore[attr-defined]
        return ListResult(items, read_at, bool(response.more))  # type: ignore[attr-defined]

    async def count(self, prefix: str) -> tuple[int, int]:
        start = self._key(prefix)
        request = rpc.RangeRequest(key=start, range_end=range_end(start), count_only=True)
        response: object = await self._range(request, 0)
        return response.count, _log_revision(response.header.revision)  # type: ignore[attr-defined]

    # -- the driver's part of watch, TTL and compaction ----------------------------

    async def _snapshot(self) -> tuple[int, int]:
        self._conn()
        return await self._revision.read(), self._compacted

    async def compacted_revision(self) -> int:
        conn = self._conn()
        learned = await history.compacted_revision(conn, self._root)
        self._compacted = max(self._compacted, learned)
        return self._compacted

    async def _events_after(
        self, prefix: str, after: int, upto: int, limit: int
    ) -> tuple[builtins.list[Event], int]:
        return await history.events_after(
            self._conn(), self._root, prefix.encode(), after, upto, limit
        )

    async def _expired(self, now: float) -> builtins.list[tuple[str, int]]:
        return []  # etcd ends leases itself

    async def _newest_written_before(self, revision: int, when: float) -> int:
        self._conn()
        assert self._feed is not None
        return self._feed.written_before(revision, when)

    async def compact(self, revision: int) -> int:
        conn = self._conn()
        current = await self._revision_of(conn)
        if revision > current:
            raise FutureRevisionError(revision, current)
        if revision > self._compacted:
            try:
                await conn.call(conn.kv.Compact, rpc.CompactionRequest(revision=revision))
            except EtcdRefusal:
                # Another process compacted further meanwhile.
                learned = await history.compacted_revision(conn, self._root)
                self._compacted = max(self._compacted, learned)
            else:
                self._compacted = revision
        if self._feed is not None:
            self._feed.forget_before(self._compacted)
        return self._compacted


def _log_revision(etcd_revision: int) -> int:
    """etcd's revision as the log's: a new etcd is at revision 1 with no key
    written (the first write takes 2), which is the empty log's 0."""
    return 0 if etcd_revision == 1 else etcd_revision


def _overflow(broadcaster: object, subscription: Subscription) -> None:
    """Cut one subscriber off as if its buffer had overflowed."""
    from corral.storage import broadcaster as module

    broadcaster._remove(subscription)  # type: ignore[attr-defined]
    subscription._end(module._OVERFLOWED)
    metrics.WATCH_OVERFLOWS.inc()


def _as_datastore_error(error: StorageError) -> StorageError:
    if isinstance(error, EtcdRefusal):
        return DatastoreError(str(error))
    return error
