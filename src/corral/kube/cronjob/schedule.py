"""CronJob schedules: when does ``spec.schedule`` fire next, in which time zone.

Kubernetes hands ``spec.schedule`` (prefixed ``TZ=<spec.timeZone>`` when a
zone is set) to robfig/cron's standard parser and asks the result for
``Next(t)``. Users see that library's exact behaviour, so this module
re-implements it rather than using a Python cron package:

- five fields (minute, hour, day of month, month, day of week), seconds
  fixed at 0; ``*``/``?``, numbers, names, ranges, steps, lists; the
  descriptors ``@yearly`` … ``@hourly`` and ``@every <duration>``;
- day of month and day of week are OR-ed, unless either was written as
  ``*`` (or ``*/1``), then AND-ed (Vixie cron's rule, as robfig has it);
- ``Next`` walks month → day → hour → minute in the schedule's zone, adding
  *absolute* hours and minutes, so a time inside a spring-forward gap is
  skipped and a time inside a fall-back overlap fires twice, as in
  Kubernetes; nothing found within five years gives None (e.g. Feb 30).

The grammar's error texts live in `corral.machinery.validation.cron` (the
API server rejects bad schedules); `parse` raises `ScheduleError` with the
same text for a stored schedule that is still bad (the controller reports
it as an event and waits for an update).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from corral.machinery.validation.cron import DURATION_RE, FIELD_BOUNDS, schedule_errors

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


class ScheduleError(ValueError):
    """A schedule robfig/cron would not parse (the message is the parser's)."""


@dataclass(frozen=True, slots=True)
class Field:
    """The values one cron field allows; ``star`` when written as ``*`` (or ``*/1``)."""

    values: frozenset[int]
    star: bool = False


def _all(low: int, high: int) -> Field:
    return Field(frozenset(range(low, high + 1)), star=True)


def _one(value: int) -> Field:
    return Field(frozenset({value}))


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A parsed five-field schedule (robfig's ``SpecSchedule``)."""

    minute: Field
    hour: Field
    dom: Field
    month: Field
    dow: Field
    zone: tzinfo = UTC

    def _day_matches(self, t: datetime) -> bool:
        dom = t.day in self.dom.values
        dow = (t.isoweekday() % 7) in self.dow.values
        if self.dom.star or self.dow.star:
            return dom and dow
        return dom or dow

    def next(self, after: datetime) -> datetime | None:
        """The first firing strictly after ``after`` (UTC), or None within five years."""
        loc = self.zone
        t = _add(after.astimezone(loc).replace(microsecond=0), 1, loc)
        added = False
        year_limit = t.year + 5
        while True:  # robfig's WRAP label
            if t.year > year_limit:
                return None
            wrapped = False
            while t.month not in self.month.values:
                if not added:
                    added = True
                    t = _date(loc, t.year, t.month, 1, 0, 0)
                t = _date(loc, t.year, t.month + 1, t.day, t.hour, t.minute)
                if t.month == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not self._day_matches(t):
                if not added:
                    added = True
                    t = _date(loc, t.year, t.month, t.day, 0, 0)
                t = _date(loc, t.year, t.month, t.day + 1, t.hour, t.minute)
                if t.hour != 0:  # midnight did not exist (a DST change at 00:00)
                    t = _add(t, (24 - t.hour) * 3600 if t.hour > 12 else -t.hour * 3600, loc)
                if t.day == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            while t.hour not in self.hour.values:
                if not added:
                    added = True
                    t = _date(loc, t.year, t.month, t.day, t.hour, 0)
                t = _add(t, 3600, loc)
                if t.hour == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            while t.minute not in self.minute.values:
                if not added:
                    added = True
                    t = _truncate(t, 60, loc)
                t = _add(t, 60, loc)
                if t.minute == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            if t.second != 0:  # the seconds field is always 0
                if not added:
                    added = True
                    t = _truncate(t, 1, loc)
                t = _add(t, 60 - t.second, loc)
                continue
            return t.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class EverySchedule:
    """``@every <duration>`` (robfig's ``ConstantDelaySchedule``, whole seconds, at least 1)."""

    seconds: int

    def next(self, after: datetime) -> datetime | None:
        return after.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=self.seconds)


Schedule = CronSchedule | EverySchedule


def _add(t: datetime, seconds: float, loc: tzinfo) -> datetime:
    """Go's ``t.Add``: absolute time, shown in ``loc``."""
    return (t.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(loc)


def _truncate(t: datetime, unit: int, loc: tzinfo) -> datetime:
    """Go's ``t.Truncate`` (on absolute time)."""
    stamp = int(t.timestamp())
    return datetime.fromtimestamp(stamp - stamp % unit, UTC).astimezone(loc)


def _offset(loc: tzinfo, unix: float) -> float:
    delta = datetime.fromtimestamp(unix, UTC).astimezone(loc).utcoffset()
    return delta.total_seconds() if delta is not None else 0.0


def _date(loc: tzinfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """Go's ``time.Date`` (fields normalised; a wall time in a gap or an overlap resolved
    the way Go resolves it)."""
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    naive = datetime(year, month, 1) + timedelta(days=day - 1, hours=hour, minutes=minute)
    unix = naive.replace(tzinfo=UTC).timestamp()
    offset = _offset(loc, unix)
    later = _offset(loc, unix - offset)
    if later != offset:
        offset = later
    return datetime.fromtimestamp(unix - offset, UTC).astimezone(loc)


def _field(text: str, low: int, high: int, names: dict[str, int] | None) -> Field:
    values: set[int] = set()
    star = False
    for expr in (part for part in text.split(",") if part):
        range_and_step = expr.split("/")
        low_high = range_and_step[0].split("-")
        extra = False
        if low_high[0] in ("*", "?"):
            start, end, extra = low, high, True
        else:
            start = _number(low_high[0], names)
            end = _number(low_high[1], names) if len(low_high) == 2 else start
        step = 1
        if len(range_and_step) == 2:
            step = int(range_and_step[1])
            if len(low_high) == 1:
                end = high
            if step > 1:
                extra = False
        values.update(range(start, end + 1, step))
        star = star or extra
    return Field(frozenset(values), star)


def _number(text: str, names: dict[str, int] | None) -> int:
    if names is not None and text.lower() in names:
        return names[text.lower()]
    return int(text)


def _duration_seconds(text: str) -> float:
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if body == "0":
        return 0.0
    total, pos = 0.0, 0
    while pos < len(body):
        m = DURATION_RE.match(body, pos)
        if m is None:
            raise ScheduleError(f'time: invalid duration "{text}"')
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return sign * total


_DESCRIPTORS: dict[str, tuple[Field, Field, Field, Field, Field]] = {
    "@yearly": (_one(0), _one(0), _one(1), _one(1), _all(0, 6)),
    "@annually": (_one(0), _one(0), _one(1), _one(1), _all(0, 6)),
    "@monthly": (_one(0), _one(0), _one(1), _all(1, 12), _all(0, 6)),
    "@weekly": (_one(0), _one(0), _all(1, 31), _all(1, 12), _one(0)),
    "@daily": (_one(0), _one(0), _all(1, 31), _all(1, 12), _all(0, 6)),
    "@midnight": (_one(0), _one(0), _all(1, 31), _all(1, 12), _all(0, 6)),
    "@hourly": (_one(0), _all(0, 23), _all(1, 31), _all(1, 12), _all(0, 6)),
}


def load_zone(name: str) -> tzinfo:
    """An IANA zone (``""`` and ``UTC`` are UTC); `ScheduleError` for an unknown one."""
    if name in ("", "UTC"):
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ScheduleError(f"unknown time zone {name}") from exc


def parse(spec: str, zone: tzinfo = UTC) -> Schedule:
    """robfig's ``ParseStandard`` (a ``TZ=``/``CRON_TZ=`` prefix overrides ``zone``)."""
    problem = schedule_errors(spec)
    if problem is not None:
        raise ScheduleError(problem)
    if spec.startswith(("TZ=", "CRON_TZ=")):
        space = spec.find(" ")
        zone = load_zone(spec[spec.index("=") + 1 : space])
        spec = spec[space:].strip()
    if spec.startswith("@every "):
        seconds = _duration_seconds(spec[len("@every ") :])
        return EverySchedule(max(1, int(seconds)))
    if spec in _DESCRIPTORS:
        minute, hour, dom, month, dow = _DESCRIPTORS[spec]
        return CronSchedule(minute, hour, dom, month, dow, zone)
    minute, hour, dom, month, dow = (
        _field(text, low, high, names)
        for text, (low, high, names) in zip(spec.split(), FIELD_BOUNDS, strict=True)
    )
    return CronSchedule(minute, hour, dom, month, dow, zone)


def schedule_of(schedule: str, time_zone: str | None) -> Schedule:
    """The schedule of a CronJob spec (Kubernetes' ``formatSchedule`` + ``ParseStandard``):
    ``timeZone`` applies unless the schedule names its own ``TZ``."""
    if "TZ" in schedule or time_zone is None:
        return parse(schedule)
    return parse(schedule, load_zone(time_zone))
