"""Semantic rules for batch/v1 Jobs and CronJobs (``pkg/apis/batch/validation``, 1.32).

What it decides: parallelism, completions, backoffLimit, activeDeadlineSeconds
and ttlSecondsAfterFinished are not negative; completionMode is NonIndexed or
Indexed (Indexed needs completions); the template restarts ``OnFailure`` or
``Never``; the selector is required and matches the template's labels, and a
generated selector (``manualSelector`` not true) selects exactly this Job's
uid with the generated labels in place. On update the selector, the
template, completionMode and (NonIndexed) completions are immutable.

A CronJob's name is at most 52 characters (its Jobs add 11), its schedule
parses (:mod:`.cron`), its timeZone exists, its concurrencyPolicy is Allow,
Forbid or Replace, and its job template leaves the selector to be generated.
"""

from __future__ import annotations

from corral.machinery.status import FieldError
from corral.machinery.validation.common import (
    Obj,
    immutable,
    join,
    key,
    mapping,
    nonnegative,
    text,
)
from corral.machinery.validation.cron import schedule_errors, time_zone_errors
from corral.machinery.validation.defaults_batch import (
    CONTROLLER_UID_LABEL,
    JOB_NAME_LABEL,
    LEGACY_CONTROLLER_UID_LABEL,
    LEGACY_JOB_NAME_LABEL,
)
from corral.machinery.validation.pods import validate_pod_template
from corral.machinery.validation.workloads import (
    parse_selector,
    selector_matches_template,
    template_labels,
)

MAX_INDEXED_PARALLELISM = 100_000
CRON_JOB_NAME_LIMIT = 63 - 11
CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")


def _job_spec(spec: Obj, path: str) -> list[FieldError]:
    """``validateJobSpec``: everything but the selector."""
    errors: list[FieldError] = []
    for field in (
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ):
        errors.extend(nonnegative(spec.get(field), join(path, field)))
    mode = spec.get("completionMode")
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        where = join(path, "completionMode")
        errors.append(FieldError.not_supported(where, mode, ["NonIndexed", "Indexed"]))
    if mode == "Indexed":
        if spec.get("completions") is None:
            detail = "when completion mode is Indexed"
            errors.append(FieldError.required(join(path, "completions"), detail))
        parallelism = spec.get("parallelism")
        if isinstance(parallelism, int) and parallelism > MAX_INDEXED_PARALLELISM:
            detail = (
                f"must be less than or equal to {MAX_INDEXED_PARALLELISM} "
                "when completion mode is Indexed"
            )
            errors.append(FieldError.invalid(join(path, "parallelism"), parallelism, detail))
    template = spec.get("template")
    errors.extend(validate_pod_template(template, join(path, "template")))
    policy = mapping(mapping(template).get("spec")).get("restartPolicy")
    if isinstance(template, dict) and policy not in ("OnFailure", "Never"):
        where = join(path, "template.spec.restartPolicy")
        errors.append(FieldError.not_supported(where, policy or "", ["OnFailure", "Never"]))
    return errors


def validate_job(obj: Obj) -> list[FieldError]:
    spec = mapping(obj.get("spec"))
    errors = _generated_selector_errors(obj, spec)
    errors.extend(_job_spec(spec, "spec"))
    selector = parse_selector(spec, "spec", errors)
    errors.extend(selector_matches_template(selector, spec, "spec", empty_matches=False))
    return errors


def _generated_selector_errors(obj: Obj, spec: Obj) -> list[FieldError]:
    """``validateGeneratedSelector``: the generated labels and selector are intact."""
    if spec.get("manualSelector") is True:
        return []
    labels_path = "spec.template.metadata.labels"
    if mapping(mapping(spec.get("template")).get("metadata")).get("labels") is None:
        return [FieldError.required(labels_path)]
    meta = mapping(obj.get("metadata"))
    uid, name = text(meta.get("uid")), text(meta.get("name"))
    if spec.get("selector") is None or not uid:
        return []
    labels = template_labels(spec)
    errors: list[FieldError] = []
    expected = (
        (LEGACY_CONTROLLER_UID_LABEL, uid),
        (LEGACY_JOB_NAME_LABEL, name),
        (CONTROLLER_UID_LABEL, uid),
        (JOB_NAME_LABEL, name),
    )
    for label, value in expected:
        where = key(labels_path, label)
        if label not in labels:
            errors.append(FieldError.required(where, value))
        elif labels[label] != value:
            errors.append(FieldError.invalid(where, labels, f"must be '{value}'"))
    selector = mapping(spec.get("selector"))
    match = mapping(selector.get("matchLabels"))
    generated = match == {CONTROLLER_UID_LABEL: uid} and not selector.get("matchExpressions")
    if not generated:
        errors.append(
            FieldError.invalid(
                "spec.selector", spec.get("selector"), "`selector` not auto-generated"
            )
        )
    return errors


def validate_job_update(new: Obj, old: Obj) -> list[FieldError]:
    new_spec, old_spec = mapping(new.get("spec")), mapping(old.get("spec"))
    errors: list[FieldError] = []
    if old_spec.get("completionMode", "NonIndexed") == "NonIndexed":
        errors.extend(
            immutable(new_spec.get("completions"), old_spec.get("completions"), "spec.completions")
        )
    for field in (
        "selector",
        "template",
        "completionMode",
        "podFailurePolicy",
        "backoffLimitPerIndex",
        "managedBy",
        "successPolicy",
    ):
        errors.extend(immutable(new_spec.get(field), old_spec.get(field), f"spec.{field}"))
    return errors


def validate_cron_job(obj: Obj, old: Obj | None = None) -> list[FieldError]:
    errors: list[FieldError] = []
    name = text(mapping(obj.get("metadata")).get("name"))
    if len(name) > CRON_JOB_NAME_LIMIT:
        detail = f"must be no more than {CRON_JOB_NAME_LIMIT} characters"
        errors.append(FieldError.invalid("metadata.name", name, detail))
    spec = mapping(obj.get("spec"))
    old_spec = mapping(mapping(old).get("spec")) if old is not None else None
    schedule = text(spec.get("schedule"))
    if not schedule:
        errors.append(FieldError.required("spec.schedule"))
    else:
        problem = schedule_errors(schedule)
        if problem:
            errors.append(FieldError.invalid("spec.schedule", schedule, problem))
        allow_tz = old_spec is not None and "TZ" in text(old_spec.get("schedule"))
        if allow_tz and "TZ" in schedule and spec.get("timeZone") is not None:
            detail = "cannot use both timeZone field and TZ or CRON_TZ in schedule"
            errors.append(FieldError.invalid("spec.schedule", schedule, detail))
        elif not allow_tz and "TZ" in schedule:
            detail = "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
            errors.append(FieldError.invalid("spec.schedule", schedule, detail))
    errors.extend(nonnegative(spec.get("startingDeadlineSeconds"), "spec.startingDeadlineSeconds"))
    zone = spec.get("timeZone")
    if zone is not None and (old_spec is None or old_spec.get("timeZone") != zone):
        shown = text(zone)
        errors.extend(
            FieldError.invalid("spec.timeZone", shown, m) for m in time_zone_errors(shown)
        )
    policy = spec.get("concurrencyPolicy")
    if not policy:
        errors.append(FieldError.required("spec.concurrencyPolicy"))
    elif policy not in CONCURRENCY_POLICIES:
        where = "spec.concurrencyPolicy"
        errors.append(FieldError.not_supported(where, policy, CONCURRENCY_POLICIES))
    for field in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        errors.extend(nonnegative(spec.get(field), f"spec.{field}"))
    job_spec = mapping(mapping(spec.get("jobTemplate")).get("spec"))
    errors.extend(_job_spec(job_spec, "spec.jobTemplate.spec"))
    if job_spec.get("selector") is not None:
        where = "spec.jobTemplate.spec.selector"
        errors.append(
            FieldError.invalid(where, job_spec["selector"], "`selector` will be auto-generated")
        )
    if job_spec.get("manualSelector") is True:
        where = "spec.jobTemplate.spec.manualSelector"
        errors.append(FieldError.not_supported(where, True, ["nil", "false"]))
    return errors
