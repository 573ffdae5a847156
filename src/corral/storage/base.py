"""What every driver shares: lifecycle, argument checks, watch and maintenance.

A driver subclasses `LogBackend` and supplies how to open and shut down its
datastore and how to read its bounds, history, expired leases and write times.
This class then gives it, identically for every driver:

- ``start``/``close``: closing refuses new calls, stops background work, lets
  the driver commit the writes already accepted, and only then ends every
  watch (so a watcher sees every acknowledged write before its stream ends);
- ``watch``, built on the shared `Broadcaster` and `watch_log`;
- the TTL sweeper, which deletes expired keys through the ordinary write path
  with a compare-and-swap on the revision that was found expired, so that a
  concurrent update wins and the expiry is an ordinary delete event;
- the background compactor, which compacts to the newest revision that is
  both ``compact_keep_revisions`` behind the current revision and older than
  ``compact_keep_seconds``.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import time

from corral.storage.broadcaster import Broadcaster
from corral.storage.errors import (
    BackendClosedError,
    CompactedError,
    DatastoreUnavailableError,
    FutureRevisionError,
    KeyNotFoundError,
    RevisionMismatchError,
)
from corral.storage.options import StorageOptions
from corral.storage.types import Event, KeyValue
from corral.storage.watch import WatchStream

log = logging.getLogger(__name__)


def check_write(key: str, value: bytes, ttl: int) -> None:
    """Refuse arguments no driver can store (a programming error, not a storage one)."""
    if not key or type(key) is not str:
        raise ValueError(f"a storage key must be a non-empty str, not {key!r}")
    if not key.isascii():
        try:
            key.encode()
        except UnicodeEncodeError:
            raise ValueError(f"a storage key must be valid Unicode, not {key!r}") from None
    if type(value) is not bytes:
        raise TypeError(f"a storage value must be bytes, not {type(value).__name__}")
    if ttl < 0:
        raise ValueError(f"ttl must be >= 0, not {ttl}")


def check_read_revision(revision: int, current: int, compacted: int) -> None:
    """Refuse a read at a revision that is in the future or compacted away."""
    if revision < 0:
        raise ValueError(f"revision must be >= 0, not {revision}")
    if revision > current:
        raise FutureRevisionError(revision, current)
    if 0 < revision <= compacted:
        raise CompactedError(revision, compacted)


class _ClosedWatch:
    """The watch of a backend that is not open: fails on the first read."""

    def __aiter__(self) -> _ClosedWatch:
        return self

    async def __anext__(self) -> Event:
        raise BackendClosedError()

    async def aclose(self) -> None:
        return None

    def progress(self) -> int | None:
        return None


class LogBackend(abc.ABC):
    """Base of the drivers: see the module docstring for what it decides."""

    #: True when this process is the datastore's only writer (SQLite under its
    #: lock, memory): then `current_revision` needs no read of the datastore.
    exclusive = False

    def __init__(self, options: StorageOptions | None = None) -> None:
        self.options = options or StorageOptions()
        self._broadcaster = Broadcaster(self.options.watch_buffer)
        self._started = False
        self._closed = False
        self._background: list[asyncio.Task[None]] = []

    # -- the driver's part ---------------------------------------------------

    @abc.abstractmethod
    async def _open(self) -> int:
        """Open the datastore; return its current revision."""

    @abc.abstractmethod
    async def _shutdown(self) -> None:
        """Commit the writes already accepted, then release the datastore."""

    @abc.abstractmethod
    async def _snapshot(self) -> tuple[int, int]:
        """The current and the compacted revision, read together."""

    @abc.abstractmethod
    async def _events_after(
        self, prefix: str, after: int, upto: int, limit: int
    ) -> tuple[list[Event], int]:
        """History for `watch_log` (see `corral.storage.watch.History`)."""

    @abc.abstractmethod
    async def _expired(self, now: float) -> list[tuple[str, int]]:
        """(key, revision) of live keys whose lease ended at or before ``now``."""

    @abc.abstractmethod
    async def _newest_written_before(self, revision: int, when: float) -> int:
        """The newest revision <= ``revision`` written before ``when`` (0 if none)."""

    @abc.abstractmethod
    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue: ...

    @abc.abstractmethod
    async def compact(self, revision: int) -> int: ...

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        """Open the datastore and start the TTL sweeper and the compactor."""
        if self._closed:
            raise BackendClosedError()
        if self._started:
            return
        self._broadcaster.revision = await self._open()
        self._started = True
        self._background.append(asyncio.create_task(self._sweep_loop()))
        if self.options.compact_interval > 0:
            self._background.append(asyncio.create_task(self._compact_loop()))

    async def close(self) -> None:
        """Refuse new calls, finish accepted writes, stop background work, end watches."""
        if self._closed:
            return
        self._closed = True
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._background.clear()
        try:
            if self._started:
                await self._shutdown()
        finally:
            self._broadcaster.close()

    def _check_open(self) -> None:
        if self._closed or not self._started:
            raise BackendClosedError()

    async def current_revision(self) -> int:
        if self.exclusive:
            self._check_open()
            # Every write goes through this process and is published before it
            # is acknowledged, so the last published revision is the newest
            # acknowledged one: no read of the datastore needed.
            return self._broadcaster.revision
        return (await self._snapshot())[0]

    async def compacted_revision(self) -> int:
        return (await self._snapshot())[1]

    # -- watch -----------------------------------------------------------------

    def watch(self, prefix: str, *, revision: int) -> WatchStream | _ClosedWatch:
        """See `corral.storage.backend.Backend.watch`.

        The subscription is taken right away, so a watch from revision 0 sees
        every write committed after this call even if it is iterated later. A
        watch that is never iterated is cut off once its buffer fills.
        """
        if self._closed or not self._started:
            return _ClosedWatch()
        if revision < 0:
            raise ValueError(f"revision must be >= 0, not {revision}")
        subscription = self._broadcaster.subscribe(prefix)
        return WatchStream(self, subscription, revision, self._broadcaster.revision)

    # -- background work -------------------------------------------------------

    async def _sweep_loop(self) -> None:
        interval = max(self.options.ttl_sweep_interval, 0.001)
        while True:
            await asyncio.sleep(interval)
            try:
                expired = await self._expired(time.time())
                if expired:
                    await asyncio.gather(*(self._expire(key, rev) for key, rev in expired))
            except BackendClosedError:
                return
            except DatastoreUnavailableError as err:
                log.warning("storage ttl sweep skipped: %s", err)
            except Exception:
                log.exception("storage ttl sweep failed")

    async def _expire(self, key: str, revision: int) -> None:
        # Losing the compare-and-swap means the key was updated or deleted
        # meanwhile: the newer write decides, nothing to do.
        with contextlib.suppress(KeyNotFoundError, RevisionMismatchError):
            await self.delete(key, expected_revision=revision)

    async def _compact_loop(self) -> None:
        options = self.options
        while True:
            await asyncio.sleep(options.compact_interval)
            try:
                current, compacted = await self._snapshot()
                newest = current - options.compact_keep_revisions
                if newest <= compacted:
                    continue
                cutoff = time.time() - options.compact_keep_seconds
                target = await self._newest_written_before(newest, cutoff)
                if target > compacted:
                    await self.compact(target)
            except BackendClosedError:
                return
            except DatastoreUnavailableError as err:
                log.warning("storage compaction skipped: %s", err)
            except Exception:
                log.exception("storage compaction failed")
