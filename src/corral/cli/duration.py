"""Durations on the command line, as Kubernetes writes them: ``1h``, ``30m``, ``1h30m0s``.

kube-apiserver's ``--event-ttl`` takes a Go duration; Corral's takes the same
spellings (hours, minutes, seconds, milliseconds, in that order; seconds
may have a fraction) or a plain number of seconds. ``--event-ttl`` keeps
whole seconds; the leader-election timings keep fractions (tests use
``500ms``).
"""

from __future__ import annotations

import re
from typing import Any

import click

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$")


def parse_duration(text: str) -> float:
    """Seconds of ``text``; ValueError naming the expected form otherwise."""
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"{text!r} is not a duration (use e.g. 500ms, 90s, 30m, 1h or 1h30m)")
    hours, minutes, seconds, millis = match.groups()
    return (
        int(hours or 0) * 3600
        + int(minutes or 0) * 60
        + float(seconds or 0)
        + int(millis or 0) / 1000
    )


class DurationType(click.ParamType):  # type: ignore[type-arg]  # generic only in click >= 8.4
    """A click parameter holding a duration; its value is seconds (a float)."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
