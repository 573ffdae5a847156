"""Sharing etcd leases between TTL'd writes made close together.

Granting a lease is a Raft round of its own, so a lease per TTL'd write
doubles the cost of every Event. As Kubernetes' own API server does, writes
with the same TTL within a short window share one lease, granted for the TTL
plus that window so that no key expires early: the window is 5% of the TTL,
at most 60 seconds, in whole seconds (TTLs under 20 seconds are never
shared, so short TTLs stay exact). A key may then live up to the window
longer than its TTL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from corral.storage.etcd.keys import new_lease_id

#: Longest reuse window (seconds), and the fraction of the TTL it may take.
MAX_WINDOW = 60
WINDOW_FRACTION = 0.05


class LeaseTakenError(Exception):
    """etcd already has a lease with the ID drawn: `LeasePool` draws another."""


def window(ttl: int) -> int:
    """Seconds during which writes with this TTL share a lease."""
    return min(MAX_WINDOW, int(ttl * WINDOW_FRACTION))


class LeasePool:
    """The lease a TTL'd write attaches to: shared within the window, else new."""

    def __init__(self, grant: Callable[[int, int], Awaitable[None]]) -> None:
        #: ``grant(lease_id, seconds)`` grants a lease (raises if the ID is taken).
        self._grant = grant
        self._current: dict[int, tuple[int, float]] = {}
        self._pending: dict[int, asyncio.Future[int]] = {}

    async def lease_for(self, ttl: int) -> int:
        """A lease ID for a write with ``ttl`` seconds (a new or a shared lease)."""
        reuse = window(ttl)
        if not reuse:
            return await self._new(ttl, ttl)
        current = self._current.get(ttl)
        if current is not None and time.monotonic() - current[1] < reuse:
            return current[0]
        pending = self._pending.get(ttl)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending[ttl] = future
        try:
            granted_at = time.monotonic()
            lease_id = await self._new(ttl, ttl + reuse)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no other caller may be waiting
            raise
        finally:
            del self._pending[ttl]
        self._current[ttl] = (lease_id, granted_at)
        future.set_result(lease_id)
        return lease_id

    async def _new(self, ttl: int, seconds: int) -> int:
        while True:
            lease_id = new_lease_id(ttl)
            try:
                await self._grant(lease_id, seconds)
            except LeaseTakenError:
                continue  # a random ID collided; draw another
            return lease_id
