"""`ShiftedClock`: real time that a test can move forward in one jump.

A CronJob test must see a schedule fire without waiting for real minutes,
yet the controllers under test also need time to pass normally (retries,
the informers' own pace). This clock runs at real speed plus an offset:
``now()`` (monotonic, for work queues) and ``wall()`` (UTC, the
controllers' ``ctx.now``) both move by ``jump(seconds)``, and timers
scheduled on it are re-armed so that those now due fire at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class _Timer:
    __slots__ = ("callback", "done", "handle", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.done = False
        self.handle: asyncio.TimerHandle | None = None

    def fire(self) -> None:
        if not self.done:
            self.done = True
            self.callback()

    def cancel(self) -> None:
        self.done = True
        if self.handle is not None:
            self.handle.cancel()


class ShiftedClock:
    """A `corral.controller.Clock` (and a wall clock) that can jump forward."""

    def __init__(self) -> None:
        self.offset = 0.0
        self._timers: list[_Timer] = []

    def now(self) -> float:
        return time.monotonic() + self.offset

    def wall(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def call_at(self, when: float, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(when, callback)
        self._arm(timer)
        self._timers.append(timer)
        return timer

    def _arm(self, timer: _Timer) -> None:
        loop = asyncio.get_running_loop()
        timer.handle = loop.call_later(max(0.0, timer.when - self.now()), timer.fire)

    def jump(self, seconds: float) -> None:
        """Move both clocks forward; timers now due fire on the next loop iteration."""
        self.offset += seconds
        self._timers = [t for t in self._timers if not t.done]
        for timer in self._timers:
            if timer.handle is not None:
                timer.handle.cancel()
            self._arm(timer)

    def jump_to(self, moment: datetime) -> None:
        """Jump so that the wall clock reads ``moment`` (never backwards)."""
        self.jump(max(0.0, (moment - self.wall()).total_seconds()))
