"""Threads that run blocking SQLite calls for the event loop, with a cheap round trip.

SQLite calls block (an fsync per commit), so they run on threads. The
standard ``loop.run_in_executor`` costs about twice as much per round trip as
strictly needed (a `concurrent.futures.Future`, a condition variable, then a
chained asyncio future); with one hop per commit that overhead was a large
share of a commit's time. `Workers` keeps the minimum: one `SimpleQueue` put
to hand a call to a thread, one ``call_soon_threadsafe`` to hand back its
result.

Threads are daemons: a process that exits without closing the backend loses
nothing acknowledged (every commit was durable before it was acknowledged).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any, TypeVar

T = TypeVar("T")

_Call = tuple[Callable[[], Any], asyncio.Future[Any]]


class Workers:
    """A fixed set of threads taking calls from one queue."""

    def __init__(self, count: int, name: str) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: SimpleQueue[_Call | None] = SimpleQueue()
        self._threads = [
            threading.Thread(target=self._main, name=f"{name}-{i}", daemon=True)
            for i in range(count)
        ]
        self._stopped = False
        for thread in self._threads:
            thread.start()

    def submit(self, call: Callable[[], T]) -> asyncio.Future[T]:
        """Run ``call`` on one of the threads; the future resolves on the loop.

        Raises `RuntimeError` once `stop` was called.
        """
        if self._stopped:
            raise RuntimeError("workers stopped")
        future: asyncio.Future[T] = self._loop.create_future()
        self._queue.put((call, future))
        return future

    async def stop(self) -> None:
        """Run the calls already queued, then end the threads."""
        if self._stopped:
            return
        self._stopped = True
        for _ in self._threads:
            self._queue.put(None)
        await asyncio.to_thread(self._join)

    def _join(self) -> None:
        for thread in self._threads:
            thread.join()

    def _main(self) -> None:
        get = self._queue.get
        while (item := get()) is not None:
            call, future = item
            try:
                result = call()
            except BaseException as err:
                self._reply(_fail, future, err)
            else:
                self._reply(_succeed, future, result)

    def _reply(
        self,
        how: Callable[[asyncio.Future[Any], Any], None],
        future: asyncio.Future[Any],
        value: Any,
    ) -> None:
        # The loop may be gone if the process is exiting without closing.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(how, future, value)


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
