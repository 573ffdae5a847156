"""Tables for batch/v1: jobs and cron jobs.

Job STATUS (the column Kubernetes' job printer has in 1.32) is the first that
holds of: a true Complete condition, a true Failed condition, a deletion
timestamp ("Terminating"), then true Suspended, FailureTarget and
SuccessCriteriaMet conditions, else "Running". COMPLETIONS is
"succeeded/completions", or "succeeded/1" (with " of P" for parallelism above
one) when completions are unset. DURATION runs from ``startTime`` to
``completionTime``, or to now while the job runs, and is empty before it starts.
Cron jobs show schedule, time zone ("<none>"), suspend ("True"/"False",
"<unset>" when missing), the number of active jobs and the last schedule's age.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from corral.machinery.printers import descriptions as doc
from corral.machinery.printers.cells import (
    condition_status,
    container_cells,
    dig,
    has,
    integer,
    items,
    name,
    selector_string,
    text,
)
from corral.machinery.printers.columns import (
    AGE,
    CONTAINERS,
    IMAGES,
    NAME,
    ColumnDefinition,
    Obj,
    Printer,
    wide,
)
from corral.machinery.printers.duration import between, since

JOB_COLUMNS = (
    NAME,
    ColumnDefinition("Status", description="Status of the job."),
    ColumnDefinition("Completions", description=doc.JOB_SUCCEEDED),
    ColumnDefinition("Duration", description="Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", doc.JOB_SELECTOR),
)
CRON_JOB_COLUMNS = (
    NAME,
    ColumnDefinition("Schedule", description=doc.CRON_SCHEDULE),
    ColumnDefinition("Timezone", description=doc.CRON_TIME_ZONE),
    ColumnDefinition("Suspend", "boolean", description=doc.CRON_SUSPEND),
    ColumnDefinition("Active", "integer", description=doc.CRON_ACTIVE),
    ColumnDefinition("Last Schedule", description=doc.CRON_LAST_SCHEDULE),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", doc.JOB_SELECTOR),
)

_STATUS_ORDER = ("Suspended", "FailureTarget", "SuccessCriteriaMet")


def job_status(job: Obj) -> str:
    conditions = items(job, "status", "conditions")

    def holds(kind: str) -> bool:
        return condition_status(conditions, kind) == "True"

    if holds("Complete"):
        return "Complete"
    if holds("Failed"):
        return "Failed"
    if has(job, "metadata", "deletionTimestamp"):
        return "Terminating"
    return next((kind for kind in _STATUS_ORDER if holds(kind)), "Running")


def job_completions(job: Obj) -> str:
    succeeded = integer(job, "status", "succeeded")
    if has(job, "spec", "completions"):
        return f"{succeeded}/{integer(job, 'spec', 'completions')}"
    parallelism = integer(job, "spec", "parallelism")
    if parallelism > 1:
        return f"{succeeded}/1 of {parallelism}"
    return f"{succeeded}/1"


def job_duration(job: Obj, now: datetime) -> str:
    start = dig(job, "status", "startTime")
    if start is None:
        return ""
    end = dig(job, "status", "completionTime")
    if end is None:
        return since(start, now)
    return between(start, end)


def job_cells(job: Obj, now: datetime) -> list[Any]:
    return [
        name(job),
        job_status(job),
        job_completions(job),
        job_duration(job, now),
        since(dig(job, "metadata", "creationTimestamp"), now),
        *container_cells(items(job, "spec", "template", "spec", "containers")),
        selector_string(dig(job, "spec", "selector")),
    ]


def _bool_pointer(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return "<unset>"


def cron_job_cells(cron: Obj, now: datetime) -> list[Any]:
    last = dig(cron, "status", "lastScheduleTime")
    job_spec = dig(cron, "spec", "jobTemplate", "spec")
    return [
        name(cron),
        text(cron, "spec", "schedule"),
        text(cron, "spec", "timeZone") or "<none>",
        _bool_pointer(dig(cron, "spec", "suspend")),
        len(items(cron, "status", "active")),
        since(last, now) if last is not None else "<none>",
        since(dig(cron, "metadata", "creationTimestamp"), now),
        *container_cells(items(job_spec, "template", "spec", "containers")),
        selector_string(dig(job_spec, "selector")),
    ]


PRINTERS = {
    ("batch", "jobs"): Printer(JOB_COLUMNS, job_cells),
    ("batch", "cronjobs"): Printer(CRON_JOB_COLUMNS, cron_job_cells),
}
