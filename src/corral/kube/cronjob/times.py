"""Which scheduled time a CronJob owes now, and when to look at it again.

Kubernetes' ``mostRecentScheduleTime``, ``nextScheduleTime`` and
``nextScheduleTimeDuration``: from the last schedule time (or the CronJob's
creation), the most recent firing not after *now* is the one to start;
``startingDeadlineSeconds`` moves the start of the search forward (older
firings are forgotten). Past firings are counted by the schedule's interval
rather than enumerated; more than 100 of them is reported as "too many
missed start times" and only the latest is started. The controller comes
back at the next firing plus 100 ms (Kubernetes' padding for clock skew),
never sooner: there is no polling.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from corral.kube.cronjob.schedule import Schedule
from corral.kube.podstatus import parse_time

#: Added to every wake-up (Kubernetes' ``nextScheduleDelta``).
NEXT_SCHEDULE_DELTA = 0.1
#: More missed firings than this are "too many".
TOO_MANY_MISSED = 100


class Missed(enum.Enum):
    NONE = "none"
    FEW = "few"
    MANY = "many"


@dataclass(frozen=True, slots=True)
class Recent:
    """``mostRecentScheduleTime``'s answer."""

    earliest: datetime
    most_recent: datetime | None
    missed: Missed
    error: str | None = None


def _earliest(cron_job: Mapping[str, Any]) -> datetime:
    status = cron_job.get("status") or {}
    meta = cron_job.get("metadata") or {}
    moment = parse_time(status.get("lastScheduleTime")) or parse_time(meta.get("creationTimestamp"))
    return moment or datetime.fromtimestamp(0, UTC)


def most_recent_schedule_time(
    cron_job: Mapping[str, Any], now: datetime, schedule: Schedule, with_deadline: bool
) -> Recent:
    earliest = _earliest(cron_job)
    deadline = (cron_job.get("spec") or {}).get("startingDeadlineSeconds")
    if with_deadline and deadline is not None:
        cutoff = now - timedelta(seconds=int(deadline))
        earliest = max(earliest, cutoff)
    t1 = schedule.next(earliest)
    if t1 is not None and now < t1:
        return Recent(earliest, None, Missed.NONE)
    t2 = schedule.next(t1) if t1 is not None else None
    if t1 is not None and t2 is not None and now < t2:
        return Recent(earliest, t1, Missed.NONE)
    interval = round((t2 - t1).total_seconds()) if t1 is not None and t2 is not None else 0
    if t1 is None or t2 is None or interval < 1:
        problem = "time difference between two schedules is less than 1 second"
        return Recent(earliest, None, Missed.NONE, problem)
    elapsed = int((now - t1).total_seconds())
    missed = elapsed // interval + 1
    potential = t1 + timedelta(seconds=(missed - 2) * interval)
    most_recent: datetime | None = None
    moment = schedule.next(potential)
    while moment is not None and moment <= now:
        most_recent = moment
        moment = schedule.next(moment)
    kind = Missed.MANY if missed > TOO_MANY_MISSED else Missed.FEW
    return Recent(earliest, most_recent, kind)


def next_schedule_time(
    cron_job: Mapping[str, Any], now: datetime, schedule: Schedule
) -> tuple[datetime | None, bool, str | None]:
    """(the firing to start now or None, too many missed, error)."""
    recent = most_recent_schedule_time(cron_job, now, schedule, True)
    if recent.most_recent is None or recent.most_recent > now:
        return None, False, recent.error
    return recent.most_recent, recent.missed is Missed.MANY, recent.error


def next_schedule_delay(
    cron_job: Mapping[str, Any], now: datetime, schedule: Schedule
) -> float | None:
    """Seconds until the controller should look again (the next firing + 100 ms)."""
    recent = most_recent_schedule_time(cron_job, now, schedule, False)
    if recent.error is not None:
        base = now
    elif recent.most_recent is None:
        base = recent.earliest if recent.missed is Missed.NONE else now
    else:
        base = recent.most_recent
    upcoming = schedule.next(base)
    if upcoming is None:
        return None
    return (upcoming - now).total_seconds() + NEXT_SCHEDULE_DELTA


def job_name(cron_job_name: str, scheduled: datetime) -> str:
    """``<cronjob>-<scheduled time in minutes since the epoch>``."""
    return f"{cron_job_name}-{int(scheduled.timestamp()) // 60}"


def rfc3339(moment: datetime) -> str:
    """Go's ``time.RFC3339`` (``Z`` for UTC, else the zone's offset)."""
    text = moment.replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
