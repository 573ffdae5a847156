"""HumanDuration and timestamp ages against kubectl's output."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.machinery.printers import human_duration, since
from corral.machinery.printers.duration import between, rfc3339

from .helpers import NOW, ago


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=1.9), "1s"),
        (timedelta(seconds=5), "5s"),
        (timedelta(seconds=119), "119s"),
        (timedelta(seconds=120), "2m"),
        (timedelta(minutes=3, seconds=2), "3m2s"),
        (timedelta(minutes=9, seconds=59), "9m59s"),
        (timedelta(minutes=10, seconds=30), "10m"),
        (timedelta(minutes=70), "70m"),
        (timedelta(minutes=179, seconds=59), "179m"),
        (timedelta(hours=3), "3h"),
        (timedelta(hours=4), "4h"),
        (timedelta(hours=3, minutes=30), "3h30m"),
        (timedelta(hours=7, minutes=59), "7h59m"),
        (timedelta(hours=8, minutes=30), "8h"),
        (timedelta(hours=47), "47h"),
        (timedelta(hours=48), "2d"),
        (timedelta(days=2, hours=3), "2d3h"),
        (timedelta(days=7, hours=23), "7d23h"),
        (timedelta(days=8, hours=5), "8d"),
        (timedelta(days=45), "45d"),
        (timedelta(days=729), "729d"),
        (timedelta(days=730), "2y"),
        (timedelta(days=365 * 2 + 10), "2y10d"),
        (timedelta(days=365 * 3), "3y"),
        (timedelta(days=365 * 8 + 100), "8y"),
        (timedelta(days=365 * 20), "20y"),
        (timedelta(seconds=-1), "0s"),
        (timedelta(seconds=-1.5), "0s"),
        (timedelta(seconds=-2), "<invalid>"),
    ],
)
def test_human_duration(delta: timedelta, expected: str) -> None:
    assert human_duration(delta) == expected


def test_since_and_between() -> None:
    assert since(ago(minutes=5), NOW) == "5m"
    assert since(None, NOW) == "<unknown>"
    assert since("", NOW) == "<unknown>"
    assert since("2024-05-01T11:59:59.500000Z", NOW) == "0s"
    assert since("2024-05-01T13:00:00+01:00", NOW) == "0s"
    assert between("2024-05-01T10:00:00Z", "2024-05-01T10:01:05Z") == "65s"
    assert between(None, "2024-05-01T10:01:05Z") == ""
    assert rfc3339("2024-05-01T10:00:00.123Z") == "2024-05-01T10:00:00Z"
    assert rfc3339("2024-05-01T12:00:00+02:00") == "2024-05-01T10:00:00Z"
    assert rfc3339(None) == "0001-01-01T00:00:00Z"


_UNITS = {"y": 365 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}


def _seconds(text: str) -> int:
    parts = re.findall(r"(\d+)([ydhms])", text)
    assert "".join(n + u for n, u in parts) == text
    return sum(int(n) * _UNITS[u] for n, u in parts)


_DURATIONS = st.integers(min_value=0, max_value=40 * 365 * 86400 * 1_000_000)


@given(_DURATIONS, _DURATIONS)
def test_human_duration_is_monotonic_and_truncates(a: int, b: int) -> None:
    low, high = sorted((a, b))
    shown_low = _seconds(human_duration(timedelta(microseconds=low)))
    shown_high = _seconds(human_duration(timedelta(microseconds=high)))
    assert shown_low <= shown_high
    assert shown_low <= low / 1_000_000
