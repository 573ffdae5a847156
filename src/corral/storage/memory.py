"""`MemoryBackend`: the whole log in Python structures, for tests and ``memory://``.

It keeps exactly the semantics of the SQLite driver (it passes the same
contract suite and a property test compares their logs), so that the layers
above can be unit-tested without a file. Nothing survives ``close``.

Structures, and why:

- ``_log``/``_revs``/``_times``: every event in revision order, with parallel
  lists of revisions (for `bisect`) and write times (for age-based compaction);
- ``_live``: the current state of each live key, so reads at revision 0 are
  dictionary lookups;
- ``_history``: each key's events, for reads at older revisions;
- ``_live_keys``/``_known_keys``: sorted key lists (live keys, and keys with any
  history left) so that a prefix list is a `bisect` and a slice;
- ``_leases``: a heap of (expiry time, key, revision); an entry whose key has
  moved on since is stale and skipped.

Every operation runs without awaiting, so it is atomic on the event loop; a
write then yields to the loop once, as a real driver's write does, so that a
tight write loop cannot starve the watchers it feeds.
"""

from __future__ import annotations

import asyncio
import bisect
import builtins
import heapq
import time

from corral.storage import metrics
from corral.storage.base import LogBackend, check_read_revision, check_write
from corral.storage.errors import (
    CompactedError,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    RevisionMismatchError,
    StorageError,
)
from corral.storage.options import StorageOptions
from corral.storage.types import Event, EventType, KeyValue, ListResult


def _revision_of(event: Event) -> int:
    return event.kv.mod_revision


class MemoryBackend(LogBackend):
    """A revisioned key-value log held in memory."""

    exclusive = True

    def __init__(self, options: StorageOptions | None = None) -> None:
        super().__init__(options)
        self._revision = 0
        self._compacted = 0
        self._log: list[Event] = []
        self._revs: list[int] = []
        self._times: list[float] = []
        self._live: dict[str, KeyValue] = {}
        self._history: dict[str, list[Event]] = {}
        self._live_keys: list[str] = []
        self._known_keys: list[str] = []
        self._leases: list[tuple[float, str, int]] = []

    async def _open(self) -> int:
        return self._revision

    async def _shutdown(self) -> None:
        return

    # -- writes --------------------------------------------------------------

    async def create(self, key: str, value: bytes, *, ttl: int = 0) -> KeyValue:
        check_write(key, value, ttl)
        self._check_open()
        if key in self._live:
            raise self._refused("create", KeyExistsError(key))
        revision = self._revision + 1
        kv = KeyValue(key, value, revision, revision, ttl)
        self._append(Event(EventType.CREATE, kv))
        await asyncio.sleep(0)
        return kv

    async def update(
        self, key: str, value: bytes, *, expected_revision: int, ttl: int = 0
    ) -> KeyValue:
        check_write(key, value, ttl)
        self._check_open()
        old = self._live.get(key)
        if old is None:
            raise self._refused("update", KeyNotFoundError(key))
        if old.mod_revision != expected_revision:
            error = RevisionMismatchError(key, expected_revision, old.mod_revision)
            raise self._refused("update", error)
        kv = KeyValue(key, value, old.create_revision, self._revision + 1, ttl)
        self._append(Event(EventType.UPDATE, kv, old.mod_revision))
        await asyncio.sleep(0)
        return kv

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        self._check_open()
        old = self._live.get(key)
        if old is None:
            raise self._refused("delete", KeyNotFoundError(key))
        if expected_revision and old.mod_revision != expected_revision:
            error = RevisionMismatchError(key, expected_revision, old.mod_revision)
            raise self._refused("delete", error)
        kv = KeyValue(key, old.value, old.create_revision, self._revision + 1, old.lease)
        self._append(Event(EventType.DELETE, kv, old.mod_revision))
        await asyncio.sleep(0)
        return kv

    @staticmethod
    def _refused(verb: str, error: StorageError) -> StorageError:
        metrics.WRITE_RESULTS[verb, metrics.result_label(error)].inc()
        return error

    def _append(self, event: Event) -> None:
        kv = event.kv
        now = time.time()
        self._revision = kv.mod_revision
        self._log.append(event)
        self._revs.append(kv.mod_revision)
        self._times.append(now)
        history = self._history.get(kv.key)
        if history is None:
            self._history[kv.key] = [event]
            bisect.insort(self._known_keys, kv.key)
        else:
            history.append(event)
        if event.type is EventType.DELETE:
            del self._live[kv.key]
            del self._live_keys[bisect.bisect_left(self._live_keys, kv.key)]
        else:
            if event.type is EventType.CREATE:
                bisect.insort(self._live_keys, kv.key)
            self._live[kv.key] = kv
            if kv.lease:
                heapq.heappush(self._leases, (now + kv.lease, kv.key, kv.mod_revision))
        metrics.WRITE_RESULTS[event.type.value, "ok"].inc()
        self._broadcaster.publish((event,))

    # -- reads ---------------------------------------------------------------

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        self._check_open()
        check_read_revision(revision, self._revision, self._compacted)
        if revision == 0 or revision == self._revision:
            return self._live.get(key)
        return self._state_at(key, revision)

    def _state_at(self, key: str, revision: int) -> KeyValue | None:
        history = self._history.get(key)
        if not history:
            return None
        index = bisect.bisect_right(history, revision, key=_revision_of)
        if index == 0 or history[index - 1].type is EventType.DELETE:
            return None
        return history[index - 1].kv

    async def list(
        self,
        prefix: str,
        *,
        revision: int = 0,
        limit: int = 0,
        start_after: str = "",
    ) -> ListResult:
        self._check_open()
        check_read_revision(revision, self._revision, self._compacted)
        now = revision == 0 or revision == self._revision
        keys = self._live_keys if now else self._known_keys
        index = bisect.bisect_left(keys, max(prefix, start_after))
        items: builtins.list[KeyValue] = []
        more = False
        for key in keys[index:]:
            if not key.startswith(prefix):
                break
            if key == start_after:
                continue
            kv = self._live[key] if now else self._state_at(key, revision)
            if kv is None:
                continue
            if limit and len(items) == limit:
                more = True
                break
            items.append(kv)
        return ListResult(items, revision or self._revision, more)

    async def count(self, prefix: str) -> tuple[int, int]:
        self._check_open()
        keys = self._live_keys
        start = bisect.bisect_left(keys, prefix)
        end = start
        while end < len(keys) and keys[end].startswith(prefix):
            end += 1
        return end - start, self._revision

    # -- the driver's part of watch, TTL and compaction ------------------------

    async def _snapshot(self) -> tuple[int, int]:
        self._check_open()
        return self._revision, self._compacted

    async def _events_after(
        self, prefix: str, after: int, upto: int, limit: int
    ) -> tuple[builtins.list[Event], int]:
        self._check_open()
        if after < self._compacted:
            raise CompactedError(after, self._compacted)
        events: builtins.list[Event] = []
        for index in range(bisect.bisect_right(self._revs, after), len(self._log)):
            event = self._log[index]
            if event.kv.mod_revision > upto:
                break
            if event.kv.key.startswith(prefix):
                events.append(event)
                if len(events) == limit:
                    return events, event.kv.mod_revision
        return events, upto

    async def _expired(self, now: float) -> builtins.list[tuple[str, int]]:
        self._check_open()
        expired: builtins.list[tuple[str, int]] = []
        leases = self._leases
        while leases and leases[0][0] <= now:
            _, key, revision = heapq.heappop(leases)
            kv = self._live.get(key)
            if kv is not None and kv.mod_revision == revision:
                expired.append((key, revision))
        return expired

    async def _newest_written_before(self, revision: int, when: float) -> int:
        self._check_open()
        index = bisect.bisect_right(self._revs, revision) - 1
        while index >= 0 and self._times[index] >= when:
            index -= 1
        return self._revs[index] if index >= 0 else 0

    async def compact(self, revision: int) -> int:
        self._check_open()
        if revision > self._revision:
            raise FutureRevisionError(revision, self._revision)
        if revision <= self._compacted:
            return self._compacted
        dropped: set[int] = set()
        for key, history in list(self._history.items()):
            index = bisect.bisect_right(history, revision, key=_revision_of)
            if index == 0:
                continue
            gone = index if history[index - 1].type is EventType.DELETE else index - 1
            if gone == 0:
                continue
            dropped.update(event.kv.mod_revision for event in history[:gone])
            del history[:gone]
            if not history:
                del self._history[key]
                del self._known_keys[bisect.bisect_left(self._known_keys, key)]
        if dropped:
            kept = [i for i, rev in enumerate(self._revs) if rev not in dropped]
            self._log = [self._log[i] for i in kept]
            self._revs = [self._revs[i] for i in kept]
            self._times = [self._times[i] for i in kept]
        self._compacted = revision
        return revision
