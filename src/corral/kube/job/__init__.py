"""Jobs (batch/v1): pods run to completion, counted, retried, timed out, expired.

`controller` is Kubernetes' job controller (tracking with finalizers,
NonIndexed and Indexed completion, back-off, deadlines, suspend); `ttl`
deletes finished Jobs after ``ttlSecondsAfterFinished``. The helpers:
`pods` (what a Job's pod carries), `backoff`, `conditions`, `indexes`.
"""

from __future__ import annotations

from corral.kube.context import KubeContext, Runnable
from corral.kube.job.controller import JobController
from corral.kube.job.ttl import TTLAfterFinishedController


def build(ctx: KubeContext) -> list[Runnable]:
    return [JobController(ctx), TTLAfterFinishedController(ctx)]


__all__ = ["JobController", "TTLAfterFinishedController", "build"]
