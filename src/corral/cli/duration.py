"""Durations on the command line, as Kubernetes writes them: ``1h``, ``30m``, ``1h30m0s``.

kube-apiserver's ``--event-ttl`` takes a Go duration; Corral's takes the same
spellings (hours, minutes, seconds, in that order) or a plain number of
seconds, and gives whole seconds to the server.
"""

from __future__ import annotations

import re
from typing import Any

import click

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> int:
    """Whole seconds of ``text``; ValueError naming the expected form otherwise."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"{text!r} is not a duration (use e.g. 90s, 30m, 1h or 1h30m)")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


class DurationType(click.ParamType):  # type: ignore[type-arg]  # generic only in click >= 8.4
    """A click parameter holding a duration; its value is whole seconds."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
