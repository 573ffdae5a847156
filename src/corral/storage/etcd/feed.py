"""The follower: one etcd watch that feeds every Corral watch in this process.

The driver follows etcd's whole log from the revision it opened at and
publishes the events under its root to the shared `Broadcaster`, in order. So a
write made through another Corral process (or a lease that etcd expired)
reaches this process's watchers exactly like a local one, and the
broadcaster's revision is etcd's: "every event up to here was handed over".

What this module decides:

- A write returns only once its revision is published (`Feed.reached`): the
  writer then sees its own write in every watch, and watch progress never
  lags an acknowledged write. A write of this process is published by the
  write itself as soon as every earlier revision is (`Feed.committed`); the
  watch's copy is then skipped.
- If the stream fails, it is reopened from the next revision; if etcd has
  compacted that revision meanwhile, events were lost, so every current
  watcher is cut off (it re-lists) and following resumes from now.
- The time each revision was seen is kept (`Feed.written_before`), since etcd
  keeps no write times and compaction keeps a time window.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import heapq
import logging
import time
from collections.abc import Callable

from corral.storage.errors import CompactedError, StorageError
from corral.storage.etcd import events as convert
from corral.storage.etcd.connection import Connection
from corral.storage.etcd.stream import WatchStream
from corral.storage.types import Event

log = logging.getLogger(__name__)

#: Pause before reopening a failed stream (seconds).
RETRY_DELAY = 0.5
#: Longest a write waits for the follower to publish it (seconds).
PUBLISH_WAIT = 10.0


class Feed:
    """Follows etcd from a revision on, publishing events under ``root``."""

    def __init__(
        self,
        connection: Connection,
        root: bytes,
        revision: int,
        publish: Callable[[list[Event]], None],
        set_revision: Callable[[int], None],
        lost: Callable[[], None],
    ) -> None:
        self._connection = connection
        self._root = root
        self._publish = publish
        self._set_revision = set_revision
        self._lost = lost
        #: Every revision up to this one has been published.
        self.revision = revision
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        #: Writes of this process committed after `revision`, waiting for the gap.
        self._local: dict[int, Event] = {}
        self._serial = 0
        self._revs: list[int] = [revision]
        self._times: list[float] = [time.time()]
        self._stream: WatchStream | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Open the watch (failing if etcd cannot be watched) and follow it."""
        self._stream = await WatchStream.open(self._connection, self.revision + 1)
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._stream is not None:
            self._stream.close()
        for _, _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def reached(self, revision: int) -> None:
        """Return once every event up to ``revision`` has been published, or
        after `PUBLISH_WAIT` seconds (etcd unreachable: the write is committed
        and reaches watchers once the follower is back)."""
        if revision <= self.revision:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._serial += 1
        heapq.heappush(self._waiters, (revision, self._serial, waiter))
        try:
            await asyncio.wait_for(asyncio.shield(waiter), PUBLISH_WAIT)
        except TimeoutError:
            log.warning("revision %d committed but not yet seen on the etcd watch", revision)

    def written_before(self, revision: int, when: float) -> int:
        """The newest revision <= ``revision`` seen before ``when`` (revisions
        older than this process count as seen when it opened the datastore)."""
        index = bisect.bisect_right(self._revs, revision) - 1
        while index >= 0 and self._times[index] >= when:
            index -= 1
        return self._revs[index] if index >= 0 else 0

    def forget_before(self, revision: int) -> None:
        """Drop write times of revisions at or before a compaction point."""
        cut = bisect.bisect_right(self._revs, revision) - 1
        if cut > 0:
            del self._revs[:cut]
            del self._times[:cut]

    async def _follow(self) -> None:
        while True:
            pause = 0.0
            try:
                if self._stream is None:
                    self._stream = await WatchStream.open(self._connection, self.revision + 1)
                while True:
                    self._apply(await self._stream.next())
            except asyncio.CancelledError:
                raise
            except CompactedError as error:
                self._compacted_away(error.compacted)
            except StorageError as error:
                log.warning("etcd watch stream failed (%s); reopening", error)
                pause = RETRY_DELAY
            except Exception:
                log.exception("etcd watch stream failed; reopening")
                pause = RETRY_DELAY
            if self._stream is not None:
                self._stream.close()
                self._stream = None
            if pause:
                await asyncio.sleep(pause)

    def _compacted_away(self, compacted: int) -> None:
        """etcd compacted revisions this follower had not read: their events
        are lost, so every watcher is cut off (it re-lists) and following
        resumes after the compaction point."""
        log.error(
            "etcd compacted revisions %d..%d before this process read them; "
            "every watch is cut off and must re-list",
            self.revision + 1,
            compacted,
        )
        self._lost()
        if compacted > self.revision:
            self.revision = compacted
            for stale in [r for r in self._local if r <= compacted]:
                del self._local[stale]
            self._advanced(compacted)
            self._drain_local()

    def _resolve(self, revision: int) -> None:
        waiters = self._waiters
        while waiters and waiters[0][0] <= revision:
            _, _, waiter = heapq.heappop(waiters)
            if not waiter.done():
                waiter.set_result(None)

    def committed(self, event: Event) -> None:
        """A write of this process committed at ``event.revision``: publish it
        now if every revision before it is published, else once they are.

        This spares the write a wait for its own event to come back on the
        watch; a revision written by another process can only come from the
        watch, so a write after one waits.
        """
        if event.revision > self.revision:
            self._local[event.revision] = event
            self._drain_local()

    def _drain_local(self) -> None:
        local = self._local
        batch: list[Event] = []
        while self.revision + 1 in local:
            event = local.pop(self.revision + 1)
            batch.append(event)
            self.revision = event.revision
        if batch:
            self._publish(batch)
            self._advanced(self.revision)

    def _advanced(self, revision: int) -> None:
        self._set_revision(revision)
        self._revs.append(revision)
        self._times.append(time.time())
        self._resolve(revision)

    def _apply(self, response: object) -> None:
        raw_events = getattr(response, "events", ())
        if not raw_events:
            return
        newest: int = raw_events[-1].kv.mod_revision
        if newest <= self.revision:
            return  # published already, by the write that made it
        root = self._root
        length = len(root)
        published = self.revision
        mine = [
            convert.event(e, length)
            for e in raw_events
            if e.kv.mod_revision > published and e.kv.key.startswith(root)
        ]
        if mine:
            self._publish(mine)
        self.revision = newest
        if self._local:
            for stale in [r for r in self._local if r <= newest]:
                del self._local[stale]
        self._advanced(newest)
        self._drain_local()
