"""Defaults for batch/v1 Jobs and CronJobs, and the Job's generated selector.

Decides (``pkg/apis/batch/v1/defaults.go`` and the Job create strategy,
Kubernetes 1.32): completions and parallelism 1 when both are unset
(parallelism 1 when only it is), backoffLimit 6 (MaxInt32 with a per-index
limit), completionMode NonIndexed, suspend false, manualSelector false,
podReplacementPolicy TerminatingOrFailed (Failed with a podFailurePolicy).
Unless ``manualSelector`` is true, the selector is generated from the Job's
uid (``metadata.uid``, set by the store before defaulting) and the template
gains ``batch.kubernetes.io/controller-uid``, ``batch.kubernetes.io/job-name``,
``controller-uid`` and ``job-name``; a Job without labels of its own takes the
template's, as a real cluster shows them. A CronJob gets concurrencyPolicy
Allow, suspend false and history limits 3 and 1; its job template gets only
PodSpec defaults, as in Kubernetes.
"""

from __future__ import annotations

from corral.machinery.validation.common import Obj, child, items, mapping, text
from corral.machinery.validation.defaults_pod import default_pod_template

CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"
MAX_INT32 = 2**31 - 1


def default_job(obj: Obj) -> None:
    spec = child(obj, "spec")
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else 6
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("manualSelector", False)
    policy = spec.get("podFailurePolicy")
    for rule in items(mapping(policy).get("rules")):
        for condition in items(mapping(rule).get("onPodConditions")):
            if isinstance(condition, dict):
                condition.setdefault("status", "True")
    if spec.get("podReplacementPolicy") is None:
        spec["podReplacementPolicy"] = "Failed" if policy else "TerminatingOrFailed"
    default_pod_template(spec.get("template"))
    if spec.get("manualSelector") is not True:
        generate_selector(obj)
    meta = child(obj, "metadata")
    template_labels = mapping(mapping(spec.get("template")).get("metadata")).get("labels")
    if isinstance(template_labels, dict) and template_labels and not meta.get("labels"):
        meta["labels"] = dict(template_labels)


def generate_selector(obj: Obj) -> None:
    """The Job strategy's ``generateSelector``: labels by name and uid, select the uid."""
    meta = mapping(obj.get("metadata"))
    uid, name = text(meta.get("uid")), text(meta.get("name"))
    if not uid:
        return
    spec = child(obj, "spec")
    labels = child(child(child(spec, "template"), "metadata"), "labels")
    for label in (LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL):
        labels.setdefault(label, name)
    for label in (LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL):
        labels.setdefault(label, uid)
    child(child(spec, "selector"), "matchLabels").setdefault(CONTROLLER_UID_LABEL, uid)


def default_cron_job(obj: Obj) -> None:
    spec = child(obj, "spec")
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_spec = mapping(mapping(spec.get("jobTemplate")).get("spec"))
    default_pod_template(job_spec.get("template"))
