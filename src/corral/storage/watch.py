"""The watch algorithm every driver shares: history first, then live events.

A watch from revision R must yield every event after R exactly once, in order,
although events keep being committed while the history is read. The order of
steps is what makes that true:

1. Subscribe to the broadcaster *first* (the driver does this when ``watch`` is
   called), so that nothing committed from then on can be missed.
2. Read the current and compacted revisions together, and refuse the watch if R
   is in the future (`FutureRevisionError`) or older than the compaction point
   (`CompactedError`; watching *from* the compaction point is fine, it needs
   only the events after it).
3. Read history (R, current] from the driver in pages and yield it.
4. Yield live events from the subscription, skipping every revision already
   yielded: an event committed between steps 1 and 2 is both in the history
   and in the subscription.

A watch from revision 0 means "from now": it skips the history and starts
after the newest revision published when it subscribed.

`WatchStream` is what drivers return: the events as an async iterator, plus
`WatchStream.progress`, the revision up to which the reader has seen every
event once it is reading live events with nothing buffered.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Protocol

from corral.storage.broadcaster import Subscription
from corral.storage.errors import (
    BackendClosedError,
    CompactedError,
    FutureRevisionError,
    WatchOverflowError,
)
from corral.storage.types import Event

#: Events read from history per round trip to the driver.
HISTORY_PAGE = 1000


class History(Protocol):
    """What the watch needs from a driver: the log's bounds and its past events."""

    async def _snapshot(self) -> tuple[int, int]:
        """The current and the compacted revision, read together."""

    async def _events_after(
        self, prefix: str, after: int, upto: int, limit: int
    ) -> tuple[list[Event], int]:
        """Up to ``limit`` events in (after, upto] under ``prefix``, in order.

        Also returns the revision the read covered up to: ``upto`` when fewer
        than ``limit`` events were found, else the last event's revision.
        Raises `CompactedError` if history after ``after`` has been compacted.
        """


async def watch_log(
    history: History, subscription: Subscription, revision: int, now: int
) -> AsyncGenerator[Event, None]:
    """Events after ``revision`` (0: after ``now``) under the subscription's prefix.

    ``subscription`` must have been taken before this runs, and ``now`` is the
    revision last published when it was taken. The subscription is closed when
    the iteration ends, for whatever reason.
    """
    prefix = subscription.prefix
    last = now
    try:
        if revision:
            current, compacted = await history._snapshot()
            if revision > current:
                raise FutureRevisionError(revision, current)
            if revision < compacted:
                raise CompactedError(revision, compacted)
            last = revision
            while last < current:
                events, last = await history._events_after(prefix, last, current, HISTORY_PAGE)
                for event in events:
                    yield event
        subscription.live = True
        async for event in subscription:
            if event.kv.mod_revision > last:
                last = event.kv.mod_revision
                yield event
    except WatchOverflowError:
        raise WatchOverflowError(last) from None
    except BackendClosedError:
        return
    finally:
        subscription.close()


class WatchStream:
    """A watch's events (an async iterator) and how far its reader has got."""

    __slots__ = ("_events", "_subscription")

    def __init__(
        self, history: History, subscription: Subscription, revision: int, now: int
    ) -> None:
        self._subscription = subscription
        self._events = watch_log(history, subscription, revision, now)

    def __aiter__(self) -> WatchStream:
        return self

    async def __anext__(self) -> Event:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        await self._events.aclose()

    def progress(self) -> int | None:
        """See `Subscription.progress`: every event up to this revision was read."""
        return self._subscription.progress()
