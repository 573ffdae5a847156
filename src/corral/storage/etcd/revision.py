"""Asking etcd for its current revision once for many concurrent callers.

Every consistent read (a GET or LIST without a resourceVersion) first asks
the backend for the current revision, and for etcd that is a round trip.
Concurrent callers share one: a caller joins the *next* request, one not yet
sent when it arrived, so the answer is never older than its call (reads stay
linearizable) while a burst of callers costs one round trip per round.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class RevisionReader:
    """Coalesces concurrent reads of etcd's current revision."""

    def __init__(self, fetch: Callable[[], Awaitable[int]]) -> None:
        self._fetch = fetch
        self._next: asyncio.Future[int] | None = None
        self._task: asyncio.Task[None] | None = None

    async def read(self) -> int:
        """A revision at least as new as the newest write acknowledged before this call."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        joined = self._next
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._rounds())
        return await asyncio.shield(joined)

    async def _rounds(self) -> None:
        while self._next is not None:
            current, self._next = self._next, None
            try:
                revision = await self._fetch()
            except Exception as error:
                if not current.done():
                    current.set_exception(error)
                    current.exception()  # retrieved: every caller may have gone away
            else:
                if not current.done():
                    current.set_result(revision)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._next is not None and not self._next.done():
            self._next.cancel()
