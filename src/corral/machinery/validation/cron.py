"""CronJob schedules and time zones, checked as Kubernetes checks them.

Kubernetes parses ``spec.schedule`` with robfig/cron's standard parser and
reports its error text verbatim, so this module re-implements that grammar
(not the scheduling): five fields (minute, hour, day of month, month, day of
week) of ``*``/``?``, numbers, names (``jan``, ``mon``), ranges ``a-b``, steps
``/n`` and lists ``a,b``; or a descriptor (``@yearly``, ``@annually``,
``@monthly``, ``@weekly``, ``@daily``, ``@midnight``, ``@hourly``,
``@every <duration>``). :func:`schedule_errors` returns the parser's message,
or None for a valid schedule. :func:`time_zone_errors` decides whether
``spec.timeZone`` names a zone of the IANA database (via :mod:`zoneinfo`).
"""

from __future__ import annotations

import re
import zoneinfo

_MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES)}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
#: Per field (minute, hour, day of month, month, day of week): (low, high, names);
#: shared with the scheduling side (`corral.kube.cronjob.schedule`).
FIELD_BOUNDS: tuple[tuple[int, int, dict[str, int] | None], ...] = (
    (0, 59, None),
    (0, 23, None),
    (1, 31, None),
    (1, 12, _MONTHS),
    (0, 6, _DAYS),
)
_DESCRIPTORS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
#: One ``<number><unit>`` of an ``@every`` duration (Go's ``time.ParseDuration``).
DURATION_RE = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_TZ_PART_RE = re.compile(r"[A-Za-z.\-_0-9+]{1,14}")


class _CronError(ValueError):
    pass


def _parse_int(expr: str) -> int:
    """robfig's ``mustParseInt`` (Go's ``strconv.Atoi`` wording on failure)."""
    if not re.fullmatch(r"[+-]?[0-9]+", expr):
        raise _CronError(
            f'failed to parse int from {expr}: strconv.Atoi: parsing "{expr}": invalid syntax'
        )
    number = int(expr)
    if number < 0:
        raise _CronError(f"negative number ({number}) not allowed: {expr}")
    return number


def _int_or_name(expr: str, names: dict[str, int] | None) -> int:
    if names is not None and expr.lower() in names:
        return names[expr.lower()]
    return _parse_int(expr)


def _check_range(expr: str, low: int, high: int, names: dict[str, int] | None) -> None:
    range_and_step = expr.split("/")
    low_high = range_and_step[0].split("-")
    if low_high[0] in ("*", "?"):
        start, end = low, high
    else:
        start = _int_or_name(low_high[0], names)
        if len(low_high) == 1:
            end = start
        elif len(low_high) == 2:
            end = _int_or_name(low_high[1], names)
        else:
            raise _CronError(f"too many hyphens: {expr}")
    step = 1
    if len(range_and_step) == 2:
        step = _parse_int(range_and_step[1])
        if len(low_high) == 1:
            end = high
    elif len(range_and_step) > 2:
        raise _CronError(f"too many slashes: {expr}")
    if start < low:
        raise _CronError(f"beginning of range ({start}) below minimum ({low}): {expr}")
    if end > high:
        raise _CronError(f"end of range ({end}) above maximum ({high}): {expr}")
    if start > end:
        raise _CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise _CronError(f"step of range should be a positive number: {expr}")


def _check_duration(text: str) -> bool:
    """Go's ``time.ParseDuration`` accepts ``text`` (e.g. ``1h30m``, ``90s``)."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return True
    pos = 0
    while pos < len(body):
        m = DURATION_RE.match(body, pos)
        if m is None or m.group(1) in ("", "."):
            return False
        pos = m.end()
    return bool(body)


def schedule_errors(schedule: str) -> str | None:
    """Why robfig/cron's ``ParseStandard`` refuses ``schedule``, or None."""
    spec = schedule
    if not spec:
        return "empty spec string"
    if spec.startswith(("TZ=", "CRON_TZ=")):
        space = spec.find(" ")
        zone = spec[spec.index("=") + 1 : space if space >= 0 else len(spec)]
        if _zone_error(zone):
            return f"provided bad location {zone}: unknown time zone {zone}"
        spec = spec[space:].strip() if space >= 0 else ""
    if spec.startswith("@"):
        if spec in _DESCRIPTORS:
            return None
        if spec.startswith("@every "):
            duration = spec[len("@every ") :]
            if not _check_duration(duration):
                return f'failed to parse duration {spec}: time: invalid duration "{duration}"'
            return None
        return f"unrecognized descriptor: {spec}"
    fields = spec.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    try:
        for field, (low, high, names) in zip(fields, FIELD_BOUNDS, strict=True):
            for expr in (part for part in field.split(",") if part):
                _check_range(expr, low, high, names)
    except _CronError as e:
        return str(e)
    return None


def _zone_error(zone: str) -> bool:
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return True
    return False


def time_zone_errors(zone: str) -> list[str]:
    """Kubernetes' ``validateTimeZone`` for a set ``spec.timeZone``."""
    if not zone:
        return ["timeZone must be nil or non-empty string"]
    for part in zone.split("/"):
        if part in (".", "..") or part.startswith("-") or not _TZ_PART_RE.fullmatch(part):
            return [f"unknown time zone {zone}"]
    if zone.lower() == "local":
        return [
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
        ]
    return [f"unknown time zone {zone}"] if _zone_error(zone) else []
