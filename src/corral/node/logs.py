"""Synthetic container logs: deterministic lines, with the kubelet's options.

A simulated container "writes" one line every ``interval`` seconds from the
moment it starts: line ``n`` is ``simulated container <c> of pod
<ns>/<name>: line <n>``, stamped ``started + (n - 1) * interval``. Nothing is
stored; any slice is computed, so a pod that ran for a week costs nothing
until someone asks for its log. The options behave as the kubelet's:

- ``since`` (from sinceSeconds/sinceTime) drops older lines, ``tail_lines``
  keeps the last N of the rest (0: none);
- ``timestamps`` prefixes each line with its RFC 3339 time, nine digits of
  nanoseconds, and a space;
- ``limit_bytes`` ends the output after that many bytes (mid-line if so);
- ``follow`` keeps the stream open and sends each new line when its time
  comes, until the container exits, the pod goes, the node stops or the
  client disconnects (the ASGI layer cancels the iterator).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from corral.node.runtime import ContainerRun
from corral.node.timefmt import rfc3339_nano

_BATCH = 512  # lines per chunk of a long log


@dataclass(frozen=True, slots=True)
class LogRequest:
    """What a ``pods/log`` request asks for (already validated by the API server)."""

    follow: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    limit_bytes: int | None = None
    since: float | None = None


@dataclass(frozen=True, slots=True)
class LogSource:
    """One run of one container, whose lines are asked for."""

    namespace: str
    pod: str
    container: str
    run: ContainerRun
    interval: float = 1.0

    def line_time(self, n: int) -> float:
        return self.run.started + (n - 1) * self.interval

    def available(self, now: float) -> int:
        """How many lines exist at ``now``."""
        end = self.run.finished if self.run.finished is not None else now
        if end < self.run.started:
            return 0
        return int((end - self.run.started) // self.interval) + 1

    def line(self, n: int, timestamps: bool) -> bytes:
        text = (
            f"simulated container {self.container} of pod {self.namespace}/{self.pod}: line {n}\n"
        )
        if timestamps:
            text = f"{rfc3339_nano(self.line_time(n))} {text}"
        return text.encode()


def first_line(source: LogSource, request: LogRequest, count: int) -> int:
    """The number of the first line to send, given ``count`` lines exist."""
    first = 1
    if request.since is not None:
        offset = (request.since - source.run.started) / source.interval
        first = max(first, math.ceil(offset) + 1)
    if request.tail_lines is not None:
        first = max(first, count - request.tail_lines + 1)
    return first


async def log_lines(
    source: LogSource,
    request: LogRequest,
    *,
    stopped: asyncio.Event,
    alive: Callable[[], bool] = lambda: True,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[bytes]:
    """The log as chunks of whole lines (the last one cut at ``limit_bytes``)."""
    remaining = request.limit_bytes
    count = source.available(clock())
    n = first_line(source, request, count)
    while True:
        while n <= count:
            upto = min(count, n + _BATCH - 1)
            chunk = b"".join(source.line(i, request.timestamps) for i in range(n, upto + 1))
            n = upto + 1
            if remaining is not None:
                chunk = chunk[:remaining]
                remaining -= len(chunk)
            if chunk:
                yield chunk
            if remaining is not None and remaining <= 0:
                return
        if not request.follow:
            return
        n = max(n, count + 1)
        due = source.line_time(n)
        if source.run.finished is not None and due > source.run.finished:
            return
        if stopped.is_set() or not alive():
            return
        delay = max(0.0, due - clock())
        try:
            await asyncio.wait_for(stopped.wait(), timeout=min(delay, source.interval))
            return
        except TimeoutError:
            pass
        count = source.available(clock())
