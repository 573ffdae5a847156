"""Shared by the storage tests: fast options, and waiting with a deadline (never a sleep)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from corral.storage import Backend, Event, StorageOptions

#: Fast timings for tests; the background compactor is off unless a test asks.
FAST = StorageOptions(ttl_sweep_interval=0.05, compact_interval=0, watch_buffer=1000)

#: ``make_backend(options=FAST)``: a started backend of the test's driver.
BackendFactory = Callable[..., Awaitable[Backend]]


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float = 5.0, what: str = "condition"
) -> None:
    """Poll ``check`` until it is true; fail after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {within}s")
        await asyncio.sleep(0.01)


async def take(watch: AsyncIterator[Event], count: int, *, within: float = 5.0) -> list[Event]:
    """The next ``count`` events of ``watch``; fail if they do not come within ``within``."""
    async with asyncio.timeout(within):
        return [await anext(watch) for _ in range(count)]


async def collect(watch: AsyncIterator[Event], into: list[Event], *, within: float = 5.0) -> None:
    """Append every event of ``watch`` to ``into`` until it ends or raises."""
    async with asyncio.timeout(within):
        async for event in watch:
            into.append(event)


async def drain(watch: AsyncIterator[Event], *, within: float = 5.0) -> list[Event]:
    """Every event until the watch ends; fail if it does not end within ``within``."""
    async with asyncio.timeout(within):
        return [event async for event in watch]
