"""The work queue between informers and a controller's workers.

Informers add the keys of objects that changed; workers `get` a key, reconcile
it and call `done`. The queue decides, with client-go's semantics:

- **Stingy.** A key is queued at most once (the *dirty* set): adding a key that
  is already waiting does nothing, so a burst of events for one object costs
  one reconcile.
- **One worker per key.** A key handed out is *processing* until `done(key)`.
  Adding it meanwhile marks it dirty but does not queue it; `done` queues it
  again, so the change is reconciled after the current pass, never
  concurrently with it and never lost.
- **Fair.** Keys are handed out in the order they were queued; waiting
  workers are served in the order they asked.
- **Retries.** `add_rate_limited` delays a key by its rate limiter (per-key
  exponential back-off, max'ed with an overall token bucket by default);
  `forget` resets the key's back-off after a success; `add_after` delays a key
  by a given time (see `corral.controller.delaying`).
- **Shutdown.** After `shutdown` every add is ignored and delayed keys are
  dropped; workers still get the keys already queued (and keys re-queued by
  `done`), then `get` raises `QueueShutDown`. `shutdown_with_drain` also waits
  until the queue is empty and no key is being processed, so in-flight work
  finishes before a controller stops (wrap it in `asyncio.wait_for` to bound
  the wait).
- **Bounded.** At most ``max_queued`` distinct keys are dirty (queued, or
  re-added while processing). `add` of a *new* key beyond that raises
  `QueueFullError` and counts it in ``corral_workqueue_rejected_total``;
  re-adding a dirty key always succeeds, so coalescing keeps working at the
  bound. Delayed keys have their own bound (``max_waiting``, same error from
  `add_after`/`add_rate_limited`); a delayed key that comes due while the queue
  is full waits until a worker takes a key, and is never dropped.

Single event loop: the queue is not thread-safe; every method but `get` and
`shutdown_with_drain` is synchronous and never blocks.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable, Iterator
from contextlib import suppress
from typing import Generic, TypeVar

from corral.controller.clock import Clock, RealClock
from corral.controller.delaying import DelayedAdds
from corral.controller.errors import QueueFullError, QueueShutDown
from corral.controller.metrics import metrics_for
from corral.controller.ratelimit import RateLimiter, default_controller_rate_limiter

K = TypeVar("K", bound=Hashable)

#: Default bounds: far above any one controller's object count, low enough to
#: stop a runaway producer before it exhausts memory.
DEFAULT_MAX_QUEUED = 1_000_000
DEFAULT_MAX_WAITING = 1_000_000


class WorkQueue(Generic[K]):
    """A rate-limited, delaying work queue of hashable keys (client-go semantics)."""

    def __init__(
        self,
        name: str = "",
        *,
        rate_limiter: RateLimiter | None = None,
        clock: Clock | None = None,
        max_queued: int = DEFAULT_MAX_QUEUED,
        max_waiting: int = DEFAULT_MAX_WAITING,
    ) -> None:
        if max_queued < 1 or max_waiting < 1:
            raise ValueError("queue bounds must be at least 1")
        self._name = name
        self._clock: Clock = clock if clock is not None else RealClock()
        self._limiter: RateLimiter = (
            rate_limiter
            if rate_limiter is not None
            else default_controller_rate_limiter(self._clock)
        )
        self.max_queued = max_queued
        self._queue: deque[K] = deque()
        self._dirty: dict[K, float] = {}  # key -> time it was added (queue latency)
        self._processing: dict[K, float] = {}  # key -> time a worker got it
        self._getters: deque[asyncio.Future[None]] = deque()
        self._idle_waiters: list[asyncio.Future[None]] = []
        self._shutting_down = False
        self._delayed: DelayedAdds[K] = DelayedAdds(
            self._clock, self._release, limit=max_waiting, name=name
        )
        self._metrics = metrics_for(name)
        self._metrics.track(self)

    # -- introspection -------------------------------------------------

    @property
    def name(self) -> str:
        """The queue's name, its metrics label (empty: no metrics)."""
        return self._name

    def __len__(self) -> int:
        """Keys queued and waiting for a worker (not those processing or delayed)."""
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        """Whether `shutdown` (or `shutdown_with_drain`) was called."""
        return self._shutting_down

    @property
    def processing(self) -> frozenset[K]:
        """Keys handed to a worker and not yet done."""
        return frozenset(self._processing)

    @property
    def waiting(self) -> int:
        """Keys parked by `add_after` / `add_rate_limited` that are not yet due."""
        return len(self._delayed)

    def processing_ages(self) -> Iterator[float]:
        """Seconds each key now processing has been processing (for the metrics)."""
        now = self._clock.now()
        return (now - started for started in self._processing.values())

    # -- adding --------------------------------------------------------

    def add(self, key: K) -> None:
        """Queue `key` unless it is already queued; ignored after shutdown.

        Raises `QueueFullError` for a new key when ``max_queued`` keys are dirty.
        """
        if self._shutting_down or key in self._dirty:
            return
        if len(self._dirty) >= self.max_queued:
            self._metrics.refused()
            raise QueueFullError(self._name, self.max_queued)
        self._insert(key)

    def add_after(self, key: K, seconds: float) -> None:
        """Queue `key` in `seconds` (now if not positive); the earliest pending time wins."""
        if self._shutting_down:
            return
        self._metrics.retried()
        if seconds <= 0:
            self.add(key)
            return
        try:
            self._delayed.schedule(key, seconds)
        except QueueFullError:
            self._metrics.refused()
            raise

    def add_rate_limited(self, key: K) -> None:
        """Queue `key` after the delay its rate limiter decides (counts a requeue)."""
        if self._shutting_down:
            return
        self.add_after(key, self._limiter.when(key))

    def forget(self, key: K) -> None:
        """Reset `key`'s back-off (after it was reconciled successfully)."""
        self._limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        """Retries of `key` counted by the rate limiter since it was last forgotten."""
        return self._limiter.num_requeues(key)

    def _insert(self, key: K) -> None:
        self._metrics.added()
        self._dirty[key] = self._clock.now()
        if key in self._processing:
            return  # queued again by done()
        self._queue.append(key)
        self._metrics.queued(1)
        self._wake_getter()

    def _release(self, key: K) -> bool:
        """A delayed key is due: add it, unless the queue is full (then it keeps waiting)."""
        if self._shutting_down or key in self._dirty:
            return True
        if len(self._dirty) >= self.max_queued:
            return False
        self._insert(key)
        return True

    # -- taking and finishing --------------------------------------------

    async def get(self) -> K:
        """The next key, waiting for one; raises `QueueShutDown` once shut down and empty."""
        while not self._queue:
            if self._shutting_down:
                raise QueueShutDown(f"work queue {self._name or '(unnamed)'} is shut down")
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                with suppress(ValueError):
                    self._getters.remove(getter)
                if self._queue and not getter.cancelled():
                    self._wake_getter()  # it was woken for a key: pass the turn on
                raise
        key = self._queue.popleft()
        now = self._clock.now()
        self._metrics.queued(-1)
        self._metrics.got(now - self._dirty.pop(key, now))
        self._processing[key] = now
        self._delayed.resume()
        return key

    def done(self, key: K) -> None:
        """`key` is processed; queue it again if it was added meanwhile."""
        started = self._processing.pop(key, None)
        if started is None:
            return
        self._metrics.finished(self._clock.now() - started)
        if key in self._dirty:
            self._queue.append(key)
            self._metrics.queued(1)
            self._wake_getter()
        self._check_idle()

    def _wake_getter(self) -> None:
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)
                return

    # -- shutting down ------------------------------------------------

    def shutdown(self) -> None:
        """Refuse new keys, drop delayed ones; `get` raises once the queue is empty."""
        if not self._shutting_down:
            self._shutting_down = True
            self._delayed.close()
        for getter in self._getters:
            if not getter.done():
                getter.set_result(None)
        self._getters.clear()
        self._check_idle()

    async def shutdown_with_drain(self) -> None:
        """`shutdown`, then wait until the queue is empty and no key is being processed."""
        self.shutdown()
        while self._queue or self._processing:
            waiter = asyncio.get_running_loop().create_future()
            self._idle_waiters.append(waiter)
            try:
                await waiter
            finally:
                with suppress(ValueError):
                    self._idle_waiters.remove(waiter)

    def _check_idle(self) -> None:
        if self._shutting_down and not self._processing and not self._queue:
            for waiter in self._idle_waiters:
                if not waiter.done():
                    waiter.set_result(None)
            self._idle_waiters.clear()
