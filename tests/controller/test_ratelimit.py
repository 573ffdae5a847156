"""Rate limiters: exponential back-off and forget, the token bucket, their max."""

from __future__ import annotations

import pytest

from corral.controller import (
    BucketRateLimiter,
    FakeClock,
    ItemExponentialRateLimiter,
    MaxOfRateLimiter,
    WorkQueue,
    default_controller_rate_limiter,
)


def test_backoff_doubles_per_key_up_to_the_cap() -> None:
    limiter = ItemExponentialRateLimiter(0.005, 1.0)
    delays = [limiter.when("a") for _ in range(10)]
    assert delays[:5] == pytest.approx([0.005, 0.01, 0.02, 0.04, 0.08])
    assert delays[-1] == 1.0
    assert max(delays) == 1.0
    assert limiter.num_requeues("a") == 10
    assert limiter.when("b") == 0.005, "keys back off independently"


def test_forget_resets_the_backoff() -> None:
    limiter = ItemExponentialRateLimiter(0.005, 1000.0)
    for _ in range(4):
        limiter.when("a")
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    assert limiter.when("a") == 0.005
    assert len(limiter) == 1
    limiter.forget("a")
    limiter.forget("never-seen")
    assert len(limiter) == 0


def test_backoff_survives_very_many_failures() -> None:
    limiter = ItemExponentialRateLimiter(0.005, 1000.0)
    for _ in range(2000):
        delay = limiter.when("a")
    assert delay == 1000.0


def test_bucket_allows_a_burst_then_spreads_at_qps() -> None:
    clock = FakeClock()
    bucket = BucketRateLimiter(qps=10, burst=3, clock=clock)
    assert [bucket.when(k) for k in "abc"] == [0, 0, 0]
    assert bucket.when("d") == pytest.approx(0.1)
    assert bucket.when("e") == pytest.approx(0.2)
    clock.advance(0.2)  # repays the debt exactly
    assert bucket.when("f") == pytest.approx(0.1)
    clock.advance(10)  # refills, but never beyond the burst
    assert [bucket.when(k) for k in "xyz"] == [0, 0, 0]
    assert bucket.when("w") == pytest.approx(0.1)
    assert bucket.num_requeues("w") == 0
    bucket.forget("w")


def test_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="qps"):
        BucketRateLimiter(qps=0)


def test_max_of_takes_the_longest_delay_and_forgets_everywhere() -> None:
    clock = FakeClock()
    per_key = ItemExponentialRateLimiter(1.0, 100.0)
    bucket = BucketRateLimiter(qps=1, burst=1, clock=clock)
    limiter = MaxOfRateLimiter(per_key, bucket)
    assert limiter.when("a") == 1.0  # bucket: 0, per key: 1
    assert limiter.when("a") == 2.0  # bucket: 1, per key: 2
    assert limiter.when("b") == 2.0  # bucket: 2, per key: 1
    assert limiter.num_requeues("a") == 2
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0


def test_default_controller_rate_limiter() -> None:
    clock = FakeClock()
    limiter = default_controller_rate_limiter(clock)
    assert limiter.when("a") == 0.005
    assert limiter.when("a") == 0.01
    # 100 distinct keys use up the burst; the next waits for a token at 10 qps.
    for i in range(98):
        assert limiter.when(f"k{i}") == 0.005
    assert limiter.when("late") == pytest.approx(0.1)


def test_queue_retries_with_backoff_and_forget_resets() -> None:
    clock = FakeClock()
    q: WorkQueue[str] = WorkQueue(clock=clock, rate_limiter=ItemExponentialRateLimiter(1, 60))
    q.add_rate_limited("a")
    q.add_rate_limited("a")  # 2 s, ignored: 1 s is already pending
    assert len(q.processing) == 0
    assert q.num_requeues("a") == 2
    assert (len(q), q.waiting) == (0, 1)
    clock.advance(0.999)
    assert len(q) == 0
    clock.advance(0.001)
    assert len(q) == 1
    q.forget("a")
    assert q.num_requeues("a") == 0
