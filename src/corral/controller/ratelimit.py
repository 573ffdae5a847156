"""Rate limiters: how long a key waits before it is retried.

A controller that fails on a key retries it with `WorkQueue.add_rate_limited`;
the queue asks its limiter `when(key)` and delays the key by that many
seconds. This module decides the retry policy, following client-go:

- `ItemExponentialRateLimiter`: per key, ``base * 2**failures`` capped at
  ``max_delay``; each `when` counts one more failure; `forget` resets the key
  (call it when the key was reconciled successfully).
- `BucketRateLimiter`: one token bucket for all keys (``qps`` refill,
  ``burst`` capacity); each `when` reserves a token and answers how long
  until that token exists. It protects the API server from a storm of
  retries of many different keys; it keeps no per-key state.
- `MaxOfRateLimiter`: the longest delay of several limiters.
- `default_controller_rate_limiter`: client-go's default for controllers,
  the max of 5 ms .. 1000 s per key and 10 qps / burst 100 overall.

Every limiter has ``when(key) -> float``, ``forget(key)`` and
``num_requeues(key) -> int``. Time comes from an injected `Clock`.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from corral.controller.clock import Clock, RealClock


class RateLimiter(Protocol):
    """Decides the delay of a retry."""

    def when(self, key: Hashable) -> float:
        """Seconds to wait before `key` is retried; counts one retry."""
        ...

    def forget(self, key: Hashable) -> None:
        """Stop tracking `key`: its next failure starts from the first delay."""
        ...

    def num_requeues(self, key: Hashable) -> int:
        """How many times `key` has been retried since it was last forgotten."""
        ...


class ItemExponentialRateLimiter:
    """Per-key exponential back-off: ``base * 2**n`` seconds, capped at ``max_delay``."""

    def __init__(self, base_delay: float = 0.005, max_delay: float = 1000.0) -> None:
        if base_delay < 0 or max_delay < 0:
            raise ValueError("delays must not be negative")
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[Hashable, int] = {}

    def when(self, key: Hashable) -> float:
        exp = self._failures.get(key, 0)
        self._failures[key] = exp + 1
        # 2**exp grows without bound as an int; cap before it turns into a huge float.
        if exp >= 1024:
            return self.max_delay
        return float(min(self.base_delay * (2**exp), self.max_delay))

    def forget(self, key: Hashable) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: Hashable) -> int:
        return self._failures.get(key, 0)

    def __len__(self) -> int:
        """Keys with a failure count (bounded by the keys that failed and were not forgotten)."""
        return len(self._failures)


class BucketRateLimiter:
    """An overall token bucket: ``qps`` tokens a second, at most ``burst`` saved up.

    Each `when` takes one token, going into debt when none is left; the delay
    is the time until the debt is repaid, so retries are spread at ``qps``.
    """

    def __init__(self, qps: float = 10.0, burst: int = 100, clock: Clock | None = None) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError("qps must be positive and burst at least 1")
        self.qps = qps
        self.burst = burst
        self._clock: Clock = clock if clock is not None else RealClock()
        self._tokens = float(burst)
        self._last = self._clock.now()

    def when(self, key: Hashable) -> float:
        now = self._clock.now()
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.qps)
        self._tokens -= 1.0
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.qps

    def forget(self, key: Hashable) -> None:
        return None

    def num_requeues(self, key: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest delay any of its limiters asks for; every limiter counts the retry."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        self.limiters = limiters

    def when(self, key: Hashable) -> float:
        return max(limiter.when(key) for limiter in self.limiters)

    def forget(self, key: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(key)

    def num_requeues(self, key: Hashable) -> int:
        return max(limiter.num_requeues(key) for limiter in self.limiters)


def default_controller_rate_limiter(clock: Clock | None = None) -> MaxOfRateLimiter:
    """client-go's default: 5 ms doubling to 1000 s per key, and 10 qps / burst 100 overall."""
    return MaxOfRateLimiter(
        ItemExponentialRateLimiter(0.005, 1000.0),
        BucketRateLimiter(qps=10.0, burst=100, clock=clock),
    )
