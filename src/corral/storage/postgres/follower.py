"""Following other processes' writes: LISTEN/NOTIFY, with polling as a fallback.

Several Corral servers may share one database. Each publishes its own writes
to its watchers right after they commit; the writes of the others reach it
here. Every commit notifies channel `CHANNEL` with its newest revision only
(a few bytes, whatever the batch). This process's one listening connection
wakes `Follower.run`, which calls ``catch_up``: read the log after the last
published revision, in revision order, and publish it.

What this module decides:

- A notification whose revision is already published (this process's own
  writes, mostly) costs nothing: no read.
- While the listening connection is down (the server restarted, the network
  broke), the log is polled every ``poll_interval`` seconds and a new
  connection is tried each time; once it listens again, one catch-up covers
  whatever was committed while nothing listened. So a lost notification
  delays events, and never loses them.
- The listening connection also holds the session advisory lock
  `MAINTENANCE_LOCK` when it can get it: the holder is the one process that
  sweeps expired leases and compacts (``maintainer``). If it dies, its
  connection closes, PostgreSQL releases the lock, and another process takes
  it on its next try (every ``maintenance_retry`` seconds).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from corral.storage.errors import StorageError
from corral.storage.postgres.failures import TRANSLATED, from_postgres
from corral.storage.postgres.schema import CHANNEL, MAINTENANCE_LOCK

log = logging.getLogger(__name__)

Connect = Callable[[], Awaitable[asyncpg.Connection]]


class Follower:
    """Wakes ``catch_up`` when another process commits (see the module docstring)."""

    def __init__(
        self,
        connect: Connect,
        catch_up: Callable[[], Awaitable[None]],
        published: Callable[[], int],
        where: str,
        *,
        poll_interval: float,
        maintenance_retry: float,
    ) -> None:
        self._connect = connect
        self._catch_up = catch_up
        self._published = published
        self._where = where
        self._poll_interval = poll_interval
        self._maintenance_retry = maintenance_retry
        self._conn: asyncpg.Connection | None = None
        self._wake = asyncio.Event()
        self._was_notified = False
        #: True while this process holds the maintenance lock.
        self.maintainer = False
        #: Notifications received (a statistic for tests).
        self.notifications = 0
        #: Catch-ups run without a notification: at start, after a reconnection,
        #: while the listening connection is down (a statistic for tests).
        self.polls = 0

    @property
    def listening(self) -> bool:
        """Whether the notification connection is up."""
        return self._conn is not None and not self._conn.is_closed()

    def wake(self) -> None:
        """Catch up soon, notified or not."""
        self._wake.set()

    def disconnect(self) -> None:
        """Drop the listening connection (tests use it to lose notifications)."""
        self._lost()

    async def run(self) -> None:
        """Listen, catch up when told to, wait; forever (cancel to stop)."""
        try:
            due = True  # the log may have moved since this process read it
            while True:
                reconnected = False
                if not self.listening:
                    await self._listen()
                    due = reconnected = True  # (re)connected, or still down: read the log
                if due:
                    # Cleared first: a notification during the catch-up wakes us again.
                    self._wake.clear()
                    if reconnected or not self._was_notified:
                        self.polls += 1
                    self._was_notified = False
                    try:
                        await self._catch_up()
                    except StorageError as err:
                        log.debug("storage catch-up failed datastore=%s: %s", self._where, err)
                if not self.listening:
                    timeout: float = self._poll_interval
                elif not self.maintainer:
                    timeout = self._maintenance_retry
                else:
                    timeout = 3600.0
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout)
                    due = True
                except TimeoutError:
                    due = not self.listening
                if self.listening and not self.maintainer:
                    await self._try_maintenance()
        finally:
            await self._close()

    async def _listen(self) -> None:
        try:
            conn = await self._connect()
        except StorageError as err:
            log.debug("storage listen failed datastore=%s: %s", self._where, err)
            self.maintainer = False
            return
        try:
            await conn.add_listener(CHANNEL, self._notified)
            conn.add_termination_listener(self._terminated)
        except TRANSLATED as err:
            log.debug(
                "storage listen failed datastore=%s: %s",
                self._where,
                from_postgres(err, self._where),
            )
            conn.terminate()
            return
        self._conn = conn
        self.maintainer = False
        await self._try_maintenance()

    async def _try_maintenance(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            self.maintainer = bool(
                await conn.fetchval("SELECT pg_try_advisory_lock($1)", MAINTENANCE_LOCK)
            )
        except TRANSLATED:
            self._lost()

    def _notified(self, conn: object, pid: int, channel: str, payload: object) -> None:
        self.notifications += 1
        try:
            revision = int(str(payload))
        except ValueError:
            revision = 0
        if revision == 0 or revision > self._published():
            self._was_notified = True
            self._wake.set()

    def _terminated(self, conn: object) -> None:
        if conn is self._conn:
            self._lost()

    def _lost(self) -> None:
        conn, self._conn = self._conn, None
        self.maintainer = False
        if conn is not None and not conn.is_closed():
            conn.terminate()
        self._wake.set()

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        self.maintainer = False
        if conn is not None and not conn.is_closed():
            conn.terminate()  # also releases the maintenance lock
