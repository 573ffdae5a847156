"""Login failure counters: exponential backoff per username and address, bounded memory."""

from __future__ import annotations

from corral.auth import LoginRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_grows_and_ends() -> None:
    clock = Clock()
    limiter = LoginRateLimiter(free_failures=3, base_delay=1.0, clock=clock)
    for _ in range(3):
        assert limiter.retry_after("alice", "10.0.0.1") == 0
        limiter.failed("alice", "10.0.0.1")
    assert limiter.retry_after("alice", "10.0.0.1") == 1
    assert limiter.retry_after("alice", "10.0.0.2") == 1  # by username
    assert limiter.retry_after("bob", "10.0.0.1") == 1  # by address
    assert limiter.retry_after("bob", "10.0.0.2") == 0
    clock.now += 1
    limiter.failed("alice", "10.0.0.1")
    assert limiter.retry_after("alice", "10.0.0.3") == 2
    clock.now += 2
    assert limiter.retry_after("alice", "10.0.0.3") == 0


def test_success_clears_the_username_only() -> None:
    limiter = LoginRateLimiter(free_failures=1, clock=Clock())
    limiter.failed("alice", "10.0.0.1")
    limiter.succeeded("alice")
    assert limiter.retry_after("alice", "10.0.0.9") == 0
    assert limiter.retry_after("carol", "10.0.0.1") == 1


def test_memory_is_bounded() -> None:
    limiter = LoginRateLimiter(max_keys=100, clock=Clock())
    for i in range(1000):
        limiter.failed(f"user-{i}", f"10.0.{i // 256}.{i % 256}")
    assert len(limiter) == 100
