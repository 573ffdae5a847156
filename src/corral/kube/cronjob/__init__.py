"""CronJobs (batch/v1): Jobs created on a cron schedule, in a time zone.

`schedule` parses ``spec.schedule`` and finds the next firing as
robfig/cron (Kubernetes' library) does; `times` decides which firing is owed
now and when to come back; `controller` creates, replaces and prunes the
Jobs and keeps ``status`` (``active``, ``lastScheduleTime``,
``lastSuccessfulTime``).
"""

from __future__ import annotations

from corral.kube.context import KubeContext, Runnable
from corral.kube.cronjob.controller import CronJobController


def build(ctx: KubeContext) -> list[Runnable]:
    return [CronJobController(ctx)]


__all__ = ["CronJobController", "build"]
