"""Slow-start batches: create many objects without spamming a failing API.

A controller that must create 500 pods while a quota refuses every one
should learn that after one request, not 500. Kubernetes'
``slowStartBatch`` sends 1, then 2, 4, 8… at a time (concurrently within a
batch) and stops after the first batch with an error. The ReplicaSet
controller uses it; Jobs and DaemonSets will too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

#: The first batch's size (Kubernetes' ``SlowStartInitialBatchSize``).
INITIAL_BATCH = 1


async def slow_start_batch(
    count: int, fn: Callable[[], Awaitable[object]], initial: int = INITIAL_BATCH
) -> tuple[int, Exception | None]:
    """Call ``fn`` ``count`` times in doubling batches; (successes, first error or None)."""
    remaining, successes = count, 0
    batch = min(remaining, initial)
    while batch > 0:
        results = await asyncio.gather(*(fn() for _ in range(batch)), return_exceptions=True)
        errors: list[Exception] = []
        for result in results:
            if isinstance(result, Exception):
                errors.append(result)
            elif isinstance(result, BaseException):
                raise result
        successes += batch - len(errors)
        if errors:
            return successes, errors[0]
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None
