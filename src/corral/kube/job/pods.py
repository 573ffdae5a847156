"""What the Job controller needs to know about, and put on, the pods of a Job.

The constants are Kubernetes' (``batch/v1``): the ``job-tracking`` finalizer
that keeps a finished pod around until the controller has counted it, and
the completion-index annotation and label of Indexed Jobs. The helpers
decide when a pod finished (for the back-off between retries), whether it
is terminating, how many times its containers restarted, and build a new
pod from the Job's template (`corral.kube.replicaset.pod_from_template`,
plus the finalizer and, for an index, the annotation, label, hostname and
``JOB_COMPLETION_INDEX`` variable).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from corral.kube.controllerref import controller_ref
from corral.kube.podstatus import FINISHED_PHASES, parse_time
from corral.kube.replicaset import pod_from_template

Obj = dict[str, Any]

KIND = "Job"
API_VERSION = "batch/v1"
TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
#: Longest generateName prefix an index pod gets (``podGenerateNameWithIndex``).
_MAX_GENERATE_NAME = 63 - 5


def meta_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def phase(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def has_tracking_finalizer(pod: Mapping[str, Any]) -> bool:
    return TRACKING_FINALIZER in (meta_of(pod).get("finalizers") or [])


def is_terminating(pod: Mapping[str, Any]) -> bool:
    """Being deleted and not yet Succeeded/Failed (``IsPodTerminating``)."""
    return bool(meta_of(pod).get("deletionTimestamp")) and phase(pod) not in FINISHED_PHASES


def completion_index(pod: Mapping[str, Any]) -> int | None:
    """The pod's completion index (annotation), None when absent or invalid."""
    text = (meta_of(pod).get("annotations") or {}).get(COMPLETION_INDEX)
    if not isinstance(text, str) or not text.isdigit():
        return None
    return int(text)


def finished_time(pod: Mapping[str, Any]) -> datetime | None:
    """When the pod finished (``getFinishedTime``): its last container's end, else
    the Ready=False transition, else its deletion or creation time."""
    status = pod.get("status") or {}
    ends = [
        parse_time(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        for cs in status.get("containerStatuses") or []
    ]
    known = [end for end in ends if end is not None]
    if known and len(known) == len(ends):
        return max(known)
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("status") == "False":
            moment = parse_time(cond.get("lastTransitionTime"))
            if moment is not None:
                return moment
    meta = meta_of(pod)
    return parse_time(meta.get("deletionTimestamp")) or parse_time(meta.get("creationTimestamp"))


def restart_count(pod: Mapping[str, Any]) -> int:
    """Restarts of every (init) container of a Pending or Running pod."""
    if phase(pod) not in ("Pending", "Running"):
        return 0
    status = pod.get("status") or {}
    total = 0
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or []:
            total += int(cs.get("restartCount") or 0)
    return total


def _index_env(spec: Obj) -> None:
    var = {
        "name": COMPLETION_INDEX_ENV,
        "valueFrom": {
            "fieldRef": {
                "apiVersion": "v1",
                "fieldPath": f"metadata.annotations['{COMPLETION_INDEX}']",
            }
        },
    }
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            env = container.setdefault("env", [])
            if not any(e.get("name") == COMPLETION_INDEX_ENV for e in env):
                env.append(dict(var))


def new_pod(job: Mapping[str, Any], index: int | None) -> Obj:
    """A pod of ``job``'s template, tracked by the finalizer (``index`` for Indexed Jobs)."""
    pod = pod_from_template(job, controller_ref(dict(job), API_VERSION, KIND))
    meta = pod["metadata"]
    finalizers = meta.setdefault("finalizers", [])
    if TRACKING_FINALIZER not in finalizers:
        finalizers.append(TRACKING_FINALIZER)
    if index is not None:
        name = meta_of(job).get("name", "")
        meta.setdefault("annotations", {})[COMPLETION_INDEX] = str(index)
        meta.setdefault("labels", {})[COMPLETION_INDEX] = str(index)
        prefix = f"{name}-{index}-"
        if len(prefix) > _MAX_GENERATE_NAME:
            prefix = prefix[-_MAX_GENERATE_NAME:].lstrip("-.")
        meta["generateName"] = prefix
        pod["spec"]["hostname"] = f"{name}-{index}"[:63].rstrip("-.")
        _index_env(pod["spec"])
    return pod
