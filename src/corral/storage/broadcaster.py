"""Fan committed events out to every watcher, without ever blocking the writer.

A driver calls `Broadcaster.publish` right after each commit, in revision
order, from the event loop. Publishing must not wait for slow consumers, so
each `Subscription` has its own bounded buffer (a deque) and one future that
wakes its reader; nothing else is allocated per event or per subscriber.

What this module decides:

- Subscribers are grouped by key prefix, so one batch is filtered once per
  distinct prefix, not once per subscriber (a thousand watchers of one resource
  cost one filter and a thousand ``deque.extend`` calls).
- A subscriber whose buffer would exceed its bound is cut off: it is removed,
  reads what was already buffered, then gets `WatchOverflowError`. Memory stays
  bounded and the other subscribers never notice.
- `Broadcaster.close` ends every subscription: buffered events are still
  delivered, then iteration stops cleanly.
- Progress without messages: a live subscription whose buffer is empty has
  been handed every event published so far, so its reader has seen the log
  up to `Broadcaster.revision` (`Subscription.progress`). This is what lets
  the API server's watch cache prove it is current for a consistent read,
  the way etcd's progress notifications do, at no cost per event.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence

from corral.storage import metrics
from corral.storage.errors import WatchOverflowError
from corral.storage.types import Event

_LIVE = 0
_ENDED = 1
_OVERFLOWED = 2


class Subscription:
    """One subscriber's events, in revision order, as an async iterator.

    The iterator ends when the subscription or its broadcaster is closed, and
    raises `WatchOverflowError` once the subscriber was cut off and has read
    what was buffered before that.
    """

    __slots__ = (
        "_broadcaster",
        "_events",
        "_last_revision",
        "_limit",
        "_state",
        "_waiter",
        "live",
        "prefix",
    )

    def __init__(self, broadcaster: Broadcaster, prefix: str, limit: int) -> None:
        self._broadcaster = broadcaster
        self.prefix = prefix
        self._limit = limit
        self._events: deque[Event] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._state = _LIVE
        self._last_revision = 0
        #: Set by the watch once it reads only from this subscription (history done).
        self.live = False

    def progress(self) -> int | None:
        """The revision its reader has seen every event up to, if known.

        Known when the watch reads live events and none is buffered: then
        every event published (up to `Broadcaster.revision`) was handed over.
        """
        if self.live and not self._events and self._state == _LIVE:
            return self._broadcaster.revision
        return None

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        while True:
            if self._events:
                return self._events.popleft()
            if self._state == _OVERFLOWED:
                raise WatchOverflowError(self._last_revision)
            if self._state == _ENDED:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def close(self) -> None:
        """Unsubscribe and drop whatever is buffered; iteration ends."""
        if self._state == _LIVE:
            self._broadcaster._remove(self)
        self._state = _ENDED
        self._events.clear()
        self._wake()

    def _offer(self, events: Sequence[Event]) -> bool:
        """Buffer ``events``; False if they did not all fit (the caller cuts us off)."""
        room = self._limit - len(self._events)
        fits = len(events) <= room
        if fits:
            self._events.extend(events)
        elif room > 0:
            self._events.extend(events[:room])
        if self._events:
            self._last_revision = self._events[-1].kv.mod_revision
        self._wake()
        return fits

    def _end(self, state: int) -> None:
        self._state = state
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class Broadcaster:
    """Hands each published batch of events to every matching subscriber."""

    def __init__(self, buffer: int, revision: int = 0) -> None:
        self._buffer = buffer
        self._groups: dict[str, dict[Subscription, None]] = {}
        self._closed = False
        #: The revision of the newest event published (or the log's revision at start).
        self.revision = revision

    def __len__(self) -> int:
        return sum(len(group) for group in self._groups.values())

    def subscribe(self, prefix: str) -> Subscription:
        """A new subscription to every event published from now on under ``prefix``.

        After `close`, the subscription returned is already ended.
        """
        sub = Subscription(self, prefix, self._buffer)
        if self._closed:
            sub._end(_ENDED)
        else:
            self._groups.setdefault(prefix, {})[sub] = None
            metrics.WATCHERS.inc()
        return sub

    def publish(self, events: Sequence[Event]) -> None:
        """Buffer a committed batch for its subscribers; never blocks."""
        if not events:
            return
        self.revision = events[-1].kv.mod_revision
        overflowed: list[Subscription] = []
        for prefix, group in self._groups.items():
            matched = events
            if prefix:
                matched = [e for e in events if e.kv.key.startswith(prefix)]
                if not matched:
                    continue
            for sub in group:
                if not sub._offer(matched):
                    overflowed.append(sub)
        for sub in overflowed:
            self._remove(sub)
            sub._end(_OVERFLOWED)
            metrics.WATCH_OVERFLOWS.inc()

    def cut_off(self) -> None:
        """End every subscription with `WatchOverflowError`: its reader must re-list.

        For a driver that learns its published history can no longer be
        delivered in full (compacted, or the datastore went back in time).
        """
        groups, self._groups = self._groups, {}
        for group in groups.values():
            for sub in group:
                sub._end(_OVERFLOWED)
                metrics.WATCHERS.dec()
                metrics.WATCH_OVERFLOWS.inc()

    def close(self) -> None:
        """End every subscription (each still reads what it had buffered)."""
        self._closed = True
        groups, self._groups = self._groups, {}
        for group in groups.values():
            for sub in group:
                sub._end(_ENDED)
                metrics.WATCHERS.dec()

    def _remove(self, sub: Subscription) -> None:
        group = self._groups.get(sub.prefix)
        if group is not None and sub in group:
            del group[sub]
            metrics.WATCHERS.dec()
            if not group:
                del self._groups[sub.prefix]
