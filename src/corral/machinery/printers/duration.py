"""Ages and durations as kubectl shows them (``k8s.io/apimachinery/pkg/util/duration``).

Every AGE, LAST SEEN, DURATION and RESTARTS "(5m ago)" cell is a duration
rendered by ``duration.HumanDuration``: exact seconds below two minutes, then
minutes and seconds, minutes, hours and minutes, hours, days and hours, days,
years and days, years, each coarser unit taking over at Kubernetes' own
thresholds. A timestamp up to two seconds in the future counts as "0s" (clock
skew); further in the future it is "<invalid>". A missing timestamp is
"<unknown>", as ``translateTimestampSince`` prints it.

The current time is always passed in (``now``), so a table is a pure function of
its objects and the clock, and tests can pin the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_SECOND = 1_000_000  # microseconds
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 ``metav1.Time``/``MicroTime`` string as an aware datetime, else None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def human_duration(d: timedelta) -> str:
    """``duration.HumanDuration``: a short, truncated rendering such as "3m2s" or "2d3h"."""
    micros = d // timedelta(microseconds=1)
    # Go's int(d.Seconds()) truncates toward zero.
    seconds = -(-micros // _SECOND) if micros < 0 else micros // _SECOND
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = micros // _MINUTE
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = micros // _HOUR
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def since(timestamp: object, now: datetime) -> str:
    """``translateTimestampSince``: how long ago ``timestamp`` was, "<unknown>" if unset."""
    when = parse_time(timestamp)
    if when is None:
        return "<unknown>"
    return human_duration(now - when)


def between(start: object, end: object) -> str:
    """The human duration from ``start`` to ``end`` (both timestamps), "" if either is unset."""
    first, last = parse_time(start), parse_time(end)
    if first is None or last is None:
        return ""
    return human_duration(last - first)


def rfc3339(timestamp: object) -> str:
    """A timestamp as ``metav1.Time`` serializes it (UTC, whole seconds, ``Z``)."""
    when = parse_time(timestamp)
    if when is None:
        when = datetime(1, 1, 1, tzinfo=UTC)
    return when.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"
