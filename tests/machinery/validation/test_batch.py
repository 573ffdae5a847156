"""Jobs and CronJobs: counts, restart policy, generated selectors, schedules, time zones."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from corral.machinery.validation import strategy_for
from corral.machinery.validation.cron import schedule_errors, time_zone_errors


def create(resource: str, obj: dict[str, Any]) -> list[str]:
    strategy = strategy_for("batch", resource)
    strategy.default(obj)
    return [str(e) for e in strategy.validate_create(obj)]


def update(resource: str, new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    strategy = strategy_for("batch", resource)
    strategy.default(new)
    return [str(e) for e in strategy.validate_update(new, old)]


def pod_template(restart: str | None = "Never") -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "pi", "image": "perl:5.34"}]}
    if restart:
        spec["restartPolicy"] = restart
    return {"spec": spec}


def job(restart: str | None = "Never", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "pi", "namespace": "default", "uid": "u-1"},
        "spec": {"template": pod_template(restart), **spec},
    }


def test_a_job_passes_with_its_generated_selector() -> None:
    assert create("jobs", job()) == []
    assert create("jobs", job("OnFailure")) == []


def test_restart_policy_must_be_on_failure_or_never() -> None:
    assert create("jobs", job(None)) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: '
        '"OnFailure", "Never"'
    ]


def test_counts_are_not_negative() -> None:
    errors = create("jobs", job(parallelism=-1, completions=-2, backoffLimit=-3))
    assert errors == [
        "spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
        "spec.completions: Invalid value: -2: must be greater than or equal to 0",
        "spec.backoffLimit: Invalid value: -3: must be greater than or equal to 0",
    ]


def test_completion_mode() -> None:
    assert create("jobs", job(completionMode="Sometimes")) == [
        'spec.completionMode: Unsupported value: "Sometimes": supported values: "NonIndexed", '
        '"Indexed"'
    ]
    assert create("jobs", job(completionMode="Indexed", parallelism=2)) == [
        "spec.completions: Required value: when completion mode is Indexed"
    ]


def test_a_hand_written_selector_needs_manual_selector() -> None:
    obj = job(selector={"matchLabels": {"app": "pi"}})
    obj["spec"]["template"]["metadata"] = {"labels": {"app": "pi"}}
    assert create("jobs", obj) == [
        'spec.selector: Invalid value: {"matchLabels":{"app":"pi",'
        '"batch.kubernetes.io/controller-uid":"u-1"}}: `selector` not auto-generated'
    ]
    manual = job(manualSelector=True, selector={"matchLabels": {"app": "pi"}})
    manual["spec"]["template"]["metadata"] = {"labels": {"app": "other"}}
    assert create("jobs", manual) == [
        'spec.template.metadata.labels: Invalid value: {"app":"other"}: '
        "`selector` does not match template `labels`"
    ]


def test_a_conflicting_job_name_label_is_reported() -> None:
    obj = job()
    obj["spec"]["template"]["metadata"] = {"labels": {"job-name": "other"}}
    [message] = create("jobs", obj)
    assert message.startswith("spec.template.metadata.labels[job-name]: Invalid value: {")
    assert message.endswith(": must be 'pi'")


def created_job() -> dict[str, Any]:
    obj = job()
    strategy_for("batch", "jobs").default(obj)
    return obj


def test_job_selector_and_template_are_immutable() -> None:
    old = created_job()
    new = copy.deepcopy(old)
    new["spec"]["selector"]["matchLabels"]["extra"] = "x"
    assert (
        'spec.selector: Invalid value: {"matchLabels":{"batch.kubernetes.io/controller-uid":'
        '"u-1","extra":"x"}}: field is immutable'
    ) in update("jobs", new, old)
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "perl:5.36"
    [message] = update("jobs", new, old)
    assert message.startswith("spec.template: Invalid value: {")
    assert message.endswith("}: field is immutable")


def test_job_updates_of_labels_and_suspend_pass() -> None:
    old = created_job()
    new = copy.deepcopy(old)
    new["metadata"]["labels"]["team"] = "a"
    new["spec"]["suspend"] = True
    new["spec"]["parallelism"] = 4
    assert update("jobs", new, old) == []


def cron(schedule: str = "*/5 * * * *", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "tick", "namespace": "default"},
        "spec": {
            "schedule": schedule,
            "jobTemplate": {"spec": {"template": pod_template("OnFailure")}},
            **spec,
        },
    }


def test_a_cron_job_passes() -> None:
    assert create("cronjobs", cron()) == []
    assert create("cronjobs", cron("@hourly", timeZone="Europe/Paris")) == []
    assert create("cronjobs", cron("0 9 * JAN-MAR mon-fri")) == []


def test_cron_job_schedule_and_name() -> None:
    assert create("cronjobs", cron("every minute")) == [
        'spec.schedule: Invalid value: "every minute": expected exactly 5 fields, found 2: '
        "[every minute]"
    ]
    long_name = cron()
    long_name["metadata"]["name"] = "x" * 53
    assert create("cronjobs", long_name) == [
        'metadata.name: Invalid value: "' + "x" * 53 + '": must be no more than 52 characters'
    ]
    assert create("cronjobs", cron("TZ=UTC * * * * *")) == [
        'spec.schedule: Invalid value: "TZ=UTC * * * * *": cannot use TZ or CRON_TZ in '
        "schedule, use timeZone field instead"
    ]


def test_cron_job_time_zone_and_policy() -> None:
    assert create("cronjobs", cron(timeZone="Mars/Olympus", concurrencyPolicy="Sometimes")) == [
        'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus',
        'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", '
        '"Forbid", "Replace"',
    ]


def test_cron_job_template_leaves_the_selector_alone() -> None:
    obj = cron()
    obj["spec"]["jobTemplate"]["spec"]["selector"] = {"matchLabels": {"a": "b"}}
    assert create("cronjobs", obj) == [
        'spec.jobTemplate.spec.selector: Invalid value: {"matchLabels":{"a":"b"}}: '
        "`selector` will be auto-generated"
    ]
    never = cron()
    never["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    assert create("cronjobs", never) == [
        'spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always": '
        'supported values: "OnFailure", "Never"'
    ]


def test_cron_job_update_keeps_a_legacy_tz_schedule() -> None:
    old = cron("TZ=UTC 0 * * * *")
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"a": "b"}
    assert update("cronjobs", new, old) == []


@pytest.mark.parametrize(
    ("schedule", "error"),
    [
        ("0 0 * * *", None),
        ("*/15 0-6,18-23 1 */2 SUN", None),
        ("5/10 * ? * *", None),
        ("@daily", None),
        ("@every 1h30m", None),
        ("", "empty spec string"),
        ("@sometimes", "unrecognized descriptor: @sometimes"),
        ("@every soon", 'failed to parse duration @every soon: time: invalid duration "soon"'),
        ("60 * * * *", "end of range (60) above maximum (59): 60"),
        ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
        ("*/0 * * * *", "step of range should be a positive number: */0"),
        ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
        ("1/2/3 * * * *", "too many slashes: 1/2/3"),
        ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
        ("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"),
    ],
)
def test_schedules(schedule: str, error: str | None) -> None:
    assert schedule_errors(schedule) == error


def test_time_zones() -> None:
    assert time_zone_errors("America/New_York") == []
    assert time_zone_errors("UTC") == []
    assert time_zone_errors("") == ["timeZone must be nil or non-empty string"]
    assert time_zone_errors("../etc/passwd") == ["unknown time zone ../etc/passwd"]
    assert time_zone_errors("Local") == [
        "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
    ]


def test_non_indexed_completions_are_immutable() -> None:
    old = created_job()
    new = copy.deepcopy(old)
    new["spec"]["completions"] = 3
    assert update("jobs", new, old) == ["spec.completions: Invalid value: 3: field is immutable"]
