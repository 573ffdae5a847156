"""CronJob schedule math, on plain datetimes (a fake wall clock): robfig/cron's
``Next`` (fields, descriptors, day-of-month/day-of-week rule, time zones and
DST changes) and Kubernetes' missed-schedule accounting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from corral.kube.cronjob.schedule import Schedule, ScheduleError, load_zone, parse, schedule_of
from corral.kube.cronjob.times import (
    Missed,
    job_name,
    most_recent_schedule_time,
    next_schedule_delay,
    next_schedule_time,
    rfc3339,
)

NEW_YORK = ZoneInfo("America/New_York")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def firings(schedule: Schedule, after: datetime, count: int) -> list[datetime | None]:
    out: list[datetime | None] = []
    moment: datetime | None = after
    for _ in range(count):
        moment = schedule.next(moment) if moment is not None else None
        out.append(moment)
    return out


def local(moments: list[datetime | None], zone: ZoneInfo) -> list[str]:
    return [m.astimezone(zone).isoformat() if m else "none" for m in moments]


@pytest.mark.parametrize(
    ("spec", "after", "expected"),
    [
        ("*/15 * * * *", utc(2024, 5, 1, 10, 7), ["10:15", "10:30", "10:45"]),
        ("*/1 * * * *", utc(2024, 5, 1, 10, 7, 30), ["10:08", "10:09", "10:10"]),
        ("5 * * * *", utc(2024, 5, 1, 10, 5), ["11:05", "12:05", "13:05"]),
        ("@hourly", utc(2024, 5, 1, 23, 59, 59), ["00:00", "01:00", "02:00"]),
        ("0 22-23 * * *", utc(2024, 5, 1, 22, 30), ["23:00", "22:00", "23:00"]),
    ],
)
def test_times_of_day(spec: str, after: datetime, expected: list[str]) -> None:
    got = firings(parse(spec), after, 3)
    assert [m.strftime("%H:%M") for m in got if m] == expected


def test_descriptors_and_names() -> None:
    start = utc(2024, 3, 9, 12)  # a Saturday
    assert firings(parse("@daily"), start, 1) == [utc(2024, 3, 10)]
    assert firings(parse("@weekly"), start, 2) == [utc(2024, 3, 10), utc(2024, 3, 17)]
    assert firings(parse("@monthly"), start, 1) == [utc(2024, 4, 1)]
    assert firings(parse("@yearly"), start, 1) == [utc(2025, 1, 1)]
    assert firings(parse("0 9 * * mon-fri"), start, 2) == [utc(2024, 3, 11, 9), utc(2024, 3, 12, 9)]
    assert firings(parse("0 0 1 jan,jul *"), start, 2) == [utc(2024, 7, 1), utc(2025, 1, 1)]
    assert firings(parse("@every 90s"), start, 2) == [
        start + timedelta(seconds=90),
        start + timedelta(seconds=180),
    ]


def test_day_of_month_and_week_are_or_ed_unless_one_is_a_star() -> None:
    start = utc(2024, 3, 9, 12)
    # both restricted: the 15th OR any Monday
    assert firings(parse("0 0 15 * 1"), start, 3) == [
        utc(2024, 3, 11),
        utc(2024, 3, 15),
        utc(2024, 3, 18),
    ]
    # day of week a star: only the 15th
    assert firings(parse("0 0 15 * *"), start, 1) == [utc(2024, 3, 15)]
    # "*/1" is still a star; "*/2" is not (then days 1,3,5… OR Mondays)
    assert firings(parse("0 0 15 * */1"), start, 1) == [utc(2024, 3, 15)]
    assert firings(parse("0 0 */2 * 1"), start, 3) == [
        utc(2024, 3, 11),
        utc(2024, 3, 13),
        utc(2024, 3, 15),
    ]


def test_an_impossible_date_never_fires() -> None:
    assert parse("0 0 30 2 *").next(utc(2024, 1, 1)) is None


def test_time_zone_applies_to_the_fields() -> None:
    tokyo = schedule_of("0 9 * * *", "Asia/Tokyo")
    assert tokyo.next(utc(2024, 3, 9, 12)) == utc(2024, 3, 10, 0)
    kolkata = schedule_of("30 * * * *", "Asia/Kolkata")  # +05:30: on the hour in UTC
    assert kolkata.next(utc(2024, 3, 9, 12, 1)) == utc(2024, 3, 9, 13)


def test_a_time_in_the_spring_forward_gap_is_skipped() -> None:
    schedule = schedule_of("30 2 * * *", "America/New_York")
    got = firings(schedule, utc(2024, 3, 9, 12), 2)
    assert local(got, NEW_YORK) == ["2024-03-11T02:30:00-04:00", "2024-03-12T02:30:00-04:00"]


def test_a_time_in_the_fall_back_overlap_fires_twice() -> None:
    schedule = schedule_of("30 1 * * *", "America/New_York")
    got = firings(schedule, utc(2024, 11, 2, 12), 3)
    assert local(got, NEW_YORK) == [
        "2024-11-03T01:30:00-04:00",
        "2024-11-03T01:30:00-05:00",
        "2024-11-04T01:30:00-05:00",
    ]
    hourly = firings(schedule_of("@hourly", "America/New_York"), utc(2024, 11, 3, 4), 3)
    assert local(hourly, NEW_YORK) == [
        "2024-11-03T01:00:00-04:00",
        "2024-11-03T01:00:00-05:00",
        "2024-11-03T02:00:00-05:00",
    ]


def test_tz_in_the_schedule_wins_over_time_zone() -> None:
    schedule = schedule_of("CRON_TZ=Asia/Tokyo 0 9 * * *", "Europe/Berlin")
    assert schedule.next(utc(2024, 3, 9, 12)) == utc(2024, 3, 10, 0)


@pytest.mark.parametrize(
    "spec", ["", "* * * *", "61 * * * *", "@fortnightly", "TZ=Nowhere/X * * * * *"]
)
def test_bad_schedules_raise(spec: str) -> None:
    with pytest.raises(ScheduleError):
        parse(spec)


def test_unknown_zone_raises() -> None:
    with pytest.raises(ScheduleError, match="unknown time zone Mars/Olympus"):
        load_zone("Mars/Olympus")
    assert load_zone("") is UTC


def cron_job(created: datetime, last: datetime | None = None, **spec: Any) -> dict[str, Any]:
    status = {"lastScheduleTime": rfc3339(last)} if last else {}
    return {
        "metadata": {"name": "nightly", "creationTimestamp": rfc3339(created)},
        "spec": {"schedule": "x", **spec},
        "status": status,
    }


HOURLY = parse("0 * * * *")


def test_nothing_owed_before_the_first_firing() -> None:
    cj = cron_job(utc(2024, 5, 1, 10, 20))
    now = utc(2024, 5, 1, 10, 59, 59)
    assert next_schedule_time(cj, now, HOURLY) == (None, False, None)
    assert next_schedule_delay(cj, now, HOURLY) == pytest.approx(1.1)


def test_the_firing_just_passed_is_owed() -> None:
    cj = cron_job(utc(2024, 5, 1, 10, 20))
    now = utc(2024, 5, 1, 11, 0, 2)
    assert next_schedule_time(cj, now, HOURLY) == (utc(2024, 5, 1, 11), False, None)
    # started: the next look is at 12:00 + 100 ms
    started = cron_job(utc(2024, 5, 1, 10, 20), last=utc(2024, 5, 1, 11))
    assert next_schedule_time(started, now, HOURLY) == (None, False, None)
    assert next_schedule_delay(started, now, HOURLY) == pytest.approx(3598.1)


def test_of_several_missed_firings_only_the_latest_is_owed() -> None:
    cj = cron_job(utc(2024, 5, 1, 10, 20), last=utc(2024, 5, 1, 11))
    now = utc(2024, 5, 1, 15, 30)
    recent = most_recent_schedule_time(cj, now, HOURLY, False)
    assert recent.most_recent == utc(2024, 5, 1, 15)
    assert recent.missed is Missed.FEW
    assert next_schedule_time(cj, now, HOURLY) == (utc(2024, 5, 1, 15), False, None)


def test_more_than_a_hundred_missed_is_too_many_but_the_latest_still_starts() -> None:
    cj = cron_job(utc(2024, 5, 1), last=utc(2024, 5, 1))
    now = utc(2024, 5, 10, 7, 5)  # 223 hours later
    assert next_schedule_time(cj, now, HOURLY) == (utc(2024, 5, 10, 7), True, None)


def test_starting_deadline_forgets_older_firings() -> None:
    cj = cron_job(utc(2024, 5, 1), last=utc(2024, 5, 1), startingDeadlineSeconds=600)
    # 13:00 is 20 minutes ago: beyond the deadline, nothing is owed
    assert next_schedule_time(cj, utc(2024, 5, 1, 13, 20), HOURLY) == (None, False, None)
    # 13:00 is 5 minutes ago: within it
    assert next_schedule_time(cj, utc(2024, 5, 1, 13, 5), HOURLY)[0] == utc(2024, 5, 1, 13)
    # far behind: the deadline also keeps the count of missed firings small
    far = next_schedule_time(cj, utc(2024, 6, 1, 13, 5), HOURLY)
    assert far == (utc(2024, 6, 1, 13), False, None)


def test_an_impossible_schedule_is_reported() -> None:
    cj = cron_job(utc(2024, 1, 1))
    when, _, problem = next_schedule_time(cj, utc(2024, 3, 1), parse("0 0 30 2 *"))
    assert when is None
    assert problem == "time difference between two schedules is less than 1 second"


def test_job_names_and_timestamps() -> None:
    moment = utc(2024, 5, 1, 11)
    assert job_name("nightly", moment) == f"nightly-{int(moment.timestamp()) // 60}"
    assert job_name("nightly", moment) == "nightly-28576020"
    assert rfc3339(moment) == "2024-05-01T11:00:00Z"
    assert rfc3339(moment.astimezone(ZoneInfo("Asia/Kolkata"))) == "2024-05-01T16:30:00+05:30"
