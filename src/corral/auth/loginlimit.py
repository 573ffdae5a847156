"""Login rate limiting: failures per username and per client address back off.

Every failed login counts against the username tried and the client's
address. After `FREE_FAILURES` failures of one key, the next attempt must
wait ``BASE_DELAY * 2**(failures - FREE_FAILURES)`` seconds (capped at
`MAX_DELAY`); an attempt during the wait is refused before any password is
checked, with the seconds left (the caller answers 429 with Retry-After).
A successful login clears the username's counter (not the address's: one
address guessing many users keeps backing off). Counters expire after
`FORGET_AFTER` seconds without failures.

Memory is bounded: at most `MAX_KEYS` counters are kept, each keyed by at
most `MAX_KEY_LENGTH` characters of the name; when full, the oldest is
dropped (an attacker flooding with fresh names only evicts old counters,
and still meets the per-address counter).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

FREE_FAILURES = 5
BASE_DELAY = 1.0
MAX_DELAY = 300.0
FORGET_AFTER = 3600.0
MAX_KEYS = 10_000
MAX_KEY_LENGTH = 256


@dataclass(slots=True)
class _Counter:
    failures: int
    last: float


class LoginRateLimiter:
    """Failure counters with exponential backoff, by username and by address."""

    def __init__(
        self,
        *,
        free_failures: int = FREE_FAILURES,
        base_delay: float = BASE_DELAY,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._free = free_failures
        self._base = base_delay
        self._max_keys = max_keys
        self._clock = clock
        self._counters: OrderedDict[str, _Counter] = OrderedDict()

    def __len__(self) -> int:
        return len(self._counters)

    def retry_after(self, username: str, address: str) -> int:
        """Seconds (rounded up) before this attempt may be made; 0 if it may now."""
        now = self._clock()
        user, addr = _keys(username, address)
        wait = max(self._wait(user, now), self._wait(addr, now))
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        for key in _keys(username, address):
            counter = self._counters.pop(key, None)
            if counter is None or now - counter.last > FORGET_AFTER:
                counter = _Counter(0, now)
            counter.failures += 1
            counter.last = now
            self._counters[key] = counter
            while len(self._counters) > self._max_keys:
                self._counters.popitem(last=False)

    def succeeded(self, username: str) -> None:
        self._counters.pop(_keys(username, "")[0], None)

    def _wait(self, key: str, now: float) -> float:
        counter = self._counters.get(key)
        if counter is None or counter.failures < self._free:
            return 0.0
        if now - counter.last > FORGET_AFTER:
            del self._counters[key]
            return 0.0
        delay: float = min(MAX_DELAY, self._base * 2.0 ** (counter.failures - self._free))
        return counter.last + delay - now


def _keys(username: str, address: str) -> tuple[str, str]:
    return f"user:{username[:MAX_KEY_LENGTH]}", f"addr:{address[:MAX_KEY_LENGTH]}"
