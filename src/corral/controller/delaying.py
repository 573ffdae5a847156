"""Delayed adds: keys that enter the work queue at a later time.

`WorkQueue.add_after` and `add_rate_limited` park a key here with the time it
becomes ready. This module decides how waiting keys are kept and released:

- One heap ordered by ready time (ties keep the order of scheduling) and one
  map key -> ready time. A key waits at most once: scheduling a key that
  already waits keeps the *earlier* of the two times (a later, shorter delay
  wins; a longer one is ignored), as client-go does. Superseded heap entries
  are skipped lazily when they reach the top.
- One timer, armed for the earliest ready time and re-armed only when that
  changes, so thousands of waiting keys cost one scheduled callback (not one
  task, nor one sleep, per key).
- Bounded: at most ``limit`` distinct keys wait; a new key beyond that raises
  `QueueFullError` (a key already waiting is always accepted).
- When a key is due but the queue refuses it (the queue is at its own bound),
  the key stays here, due, and release stops until `resume` is called (the
  queue calls it whenever a key leaves); so no delayed key is ever lost.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from corral.controller.clock import Clock, Timer
from corral.controller.errors import QueueFullError

K = TypeVar("K", bound=Hashable)


class DelayedAdds(Generic[K]):
    """Keys waiting for their ready time; `release(key) -> bool` hands one to the queue."""

    def __init__(
        self, clock: Clock, release: Callable[[K], bool], *, limit: int, name: str = ""
    ) -> None:
        self._clock = clock
        self._release = release
        self._limit = limit
        self._name = name
        self._heap: list[tuple[float, int, K]] = []
        self._ready_at: dict[K, float] = {}
        self._seq = itertools.count()
        self._timer: Timer | None = None
        self._timer_at = float("inf")
        self._blocked = False
        self._closed = False

    def __len__(self) -> int:
        return len(self._ready_at)

    def __contains__(self, key: object) -> bool:
        return key in self._ready_at

    def schedule(self, key: K, delay: float) -> None:
        """Let `key` be released in `delay` seconds (or earlier, if it already waits for less)."""
        if self._closed:
            return
        ready = self._clock.now() + delay
        current = self._ready_at.get(key)
        if current is not None and current <= ready:
            return
        if current is None and len(self._ready_at) >= self._limit:
            raise QueueFullError(self._name, self._limit, "waiting")
        self._ready_at[key] = ready
        heapq.heappush(self._heap, (ready, next(self._seq), key))
        if not self._blocked and ready < self._timer_at:
            self._arm(ready)

    def resume(self) -> None:
        """The queue has room again: release what is due, if release had stopped."""
        if self._blocked and not self._closed:
            self._blocked = False
            self._fire()

    def close(self) -> None:
        """Drop every waiting key and the timer."""
        self._closed = True
        self._heap.clear()
        self._ready_at.clear()
        self._disarm()

    def _arm(self, when: float) -> None:
        self._disarm()
        self._timer_at = when
        self._timer = self._clock.call_at(when, self._fire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = float("inf")

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = float("inf")
        if self._closed:
            return
        now = self._clock.now()
        while self._heap:
            ready, _, key = self._heap[0]
            if self._ready_at.get(key) != ready:
                heapq.heappop(self._heap)  # superseded by an earlier time
                continue
            if ready > now:
                self._arm(ready)
                return
            if not self._release(key):
                self._blocked = True
                return
            heapq.heappop(self._heap)
            del self._ready_at[key]
