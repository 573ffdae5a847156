"""Wall-clock times as Kubernetes writes them.

Object timestamps are RFC 3339 to the second (``metav1.Time``), Lease renew
times to the microsecond (``metav1.MicroTime``), and log timestamps to the
nanosecond with all nine digits (the kubelet's log format).
"""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(t: float) -> str:
    return datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_micro(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339_nano(t: float) -> str:
    whole = int(t)
    nanos = round((t - whole) * 1e9)
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    stamp = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


def parse_rfc3339(text: str) -> float | None:
    """Seconds since the epoch, or None when ``text`` is not an RFC 3339 time."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()
