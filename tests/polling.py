"""Waiting with a deadline, for tests that wait for something to become true.

`poll` calls a plain function, `eventually` a function that may also be a
coroutine function (awaited on the running loop), until it returns something
truthy, which they return; at the deadline they fail with ``what``. Never a
fixed sleep: the interval is only the pause between two checks. A module
with its own deadline or interval binds them once with `functools.partial`.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any


def poll(
    check: Callable[[], Any], what: str = "", deadline: float = 30.0, interval: float = 0.1
) -> Any:
    """Call ``check`` until it returns something truthy (returned); fail at the deadline."""
    end = time.monotonic() + deadline
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < end, f"not met in {deadline:g}s: {what or check}"
        time.sleep(interval)


async def eventually(
    check: Callable[[], Awaitable[Any] | Any],
    what: str = "",
    deadline: float = 30.0,
    interval: float = 0.05,
) -> Any:
    """Await ``check()`` (sync or async) until truthy (returned); fail at the deadline."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        assert loop.time() < end, f"not met in {deadline:g}s: {what or check}"
        await asyncio.sleep(interval)
