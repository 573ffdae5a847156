"""The time source of the work queue and its rate limiters.

Queues and limiters never read the time or schedule a wake-up on their own:
they ask a `Clock`. `RealClock` is the event loop's monotonic clock; tests (and
benchmarks that replay hours of back-off in a second) inject a `FakeClock`
and move it with `advance`, so that no test of delays has to sleep.

A clock decides two things: what time it is (seconds, monotonic, arbitrary
origin) and when a scheduled callback runs. A callback scheduled for a time
already past still runs asynchronously (on the next loop iteration for the
real clock, on the next `advance` for the fake one), never inside `call_at`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    """A scheduled callback; `cancel` is idempotent."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """Monotonic time and one-shot callbacks at a time on that scale."""

    def now(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer: ...


class RealClock:
    """`time.monotonic` (the asyncio loop's own time base) and the running loop's timers."""

    def now(self) -> float:
        return time.monotonic()

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        loop = asyncio.get_running_loop()
        return loop.call_later(max(0.0, when - self.now()), callback)


class _FakeTimer:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A clock that moves only when told to; callbacks run inside `advance`."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._timers: list[tuple[float, int, _FakeTimer]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        timer = _FakeTimer(when, callback)
        heapq.heappush(self._timers, (when, next(self._seq), timer))
        return timer

    def advance(self, seconds: float) -> None:
        """Move time forward, running every due callback in time order."""
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        target = self._now + seconds
        while self._timers and self._timers[0][0] <= target:
            when, _, timer = heapq.heappop(self._timers)
            self._now = max(self._now, when)
            if not timer.cancelled:
                timer.callback()
        self._now = target

    @property
    def pending(self) -> int:
        """Timers scheduled and not cancelled (for tests)."""
        return sum(1 for _, _, t in self._timers if not t.cancelled)
