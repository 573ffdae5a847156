"""The pod table: READY, STATUS, RESTARTS as ``kubectl get pods`` computes them.

Pods get their own module because their STATUS cell is the most involved
summary Kubernetes prints (``printPod`` in ``pkg/printers/internalversion``),
and users read it more than any other. What it decides, in order:

- STATUS starts as ``status.reason`` or the phase; a ``SchedulingGated``
  PodScheduled condition overrides it.
- Init containers are walked in order: a clean exit is skipped, a started
  sidecar (restartPolicy Always) counts towards READY; the first other one
  gives ``Init:<reason>``, ``Init:ExitCode:N``, ``Init:Signal:N`` or ``Init:i/n``.
- Once initialised, app containers are walked from the last to the first and
  the first in list order with a waiting or terminated reason wins
  (``CrashLoopBackOff``, ``Completed``, ``Error``, ``ExitCode:N``); "Completed"
  turns back into "Running" (or "NotReady") while another container still runs.
- A deleted pod shows "Terminating", or "Unknown" when its node was lost
  (``status.reason`` "NodeLost"); a pod in a terminal phase keeps its phase.
- RESTARTS sums restart counts (sidecars included) and adds "(5m ago)" from the
  newest ``lastState.terminated.finishedAt``.
- Rows of Succeeded and Failed pods carry a ``Completed`` row condition, which
  kubectl uses to hide finished pods on request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from corral.machinery.printers import descriptions as doc
from corral.machinery.printers.cells import (
    condition_status,
    dig,
    has,
    integer,
    items,
    name,
    text,
)
from corral.machinery.printers.columns import AGE, NAME, ColumnDefinition, Obj, Printer, wide
from corral.machinery.printers.duration import parse_time, since

COLUMNS = (
    NAME,
    ColumnDefinition(
        "Ready", description="The aggregate readiness state of this pod for accepting traffic."
    ),
    ColumnDefinition("Status", description="The aggregate status of the containers in this pod."),
    ColumnDefinition(
        "Restarts",
        description=(
            "The number of times the containers in this pod have been restarted and when the "
            "last container in this pod has restarted."
        ),
    ),
    AGE,
    wide("IP", doc.POD_IP),
    wide("Node", doc.NODE_NAME),
    wide("Nominated Node", doc.NOMINATED_NODE_NAME),
    wide("Readiness Gates", doc.READINESS_GATES),
)

NODE_UNREACHABLE_REASON = "NodeLost"


def _is_sidecar(container: Any) -> bool:
    return isinstance(container, dict) and text(container, "restartPolicy") == "Always"


def _finished_at(status: Any) -> datetime | None:
    return parse_time(dig(status, "lastState", "terminated", "finishedAt"))


def _later(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if candidate is None:
        return current
    return candidate if current is None or candidate > current else current


def _terminated_reason(terminated: Any, prefix: str) -> str:
    reason = text(terminated, "reason")
    if reason:
        return prefix + reason
    signal = integer(terminated, "signal")
    if signal:
        return f"{prefix}Signal:{signal}"
    return f"{prefix}ExitCode:{integer(terminated, 'exitCode')}"


class _Summary:
    """The running totals ``printPod`` keeps while it walks the container statuses."""

    def __init__(self, pod: Obj) -> None:
        self.pod = pod
        self.reason = text(pod, "status", "reason") or text(pod, "status", "phase")
        self.ready = 0
        self.total = len(items(pod, "spec", "containers"))
        self.restarts = 0
        self.last_restart: datetime | None = None
        self.sidecar_restarts = 0
        self.sidecar_last_restart: datetime | None = None

    def walk_init_containers(self) -> bool:
        """Account for init containers; True while the pod is still initialising."""
        specs = items(self.pod, "spec", "initContainers")
        by_name = {text(c, "name"): c for c in specs}
        self.total += sum(1 for c in specs if _is_sidecar(c))
        for i, status in enumerate(items(self.pod, "status", "initContainerStatuses")):
            sidecar = _is_sidecar(by_name.get(text(status, "name")))
            count = integer(status, "restartCount")
            self.restarts += count
            self.last_restart = _later(self.last_restart, _finished_at(status))
            if sidecar:
                self.sidecar_restarts += count
                self.sidecar_last_restart = _later(self.sidecar_last_restart, _finished_at(status))
            terminated = dig(status, "state", "terminated")
            waiting_reason = text(status, "state", "waiting", "reason")
            if terminated is not None and integer(terminated, "exitCode") == 0:
                continue
            if sidecar and dig(status, "started") is True:
                if dig(status, "ready") is True:
                    self.ready += 1
                continue
            if terminated is not None:
                self.reason = _terminated_reason(terminated, "Init:")
            elif waiting_reason and waiting_reason != "PodInitializing":
                self.reason = "Init:" + waiting_reason
            else:
                self.reason = f"Init:{i}/{len(specs)}"
            return True
        return False

    def walk_containers(self) -> None:
        self.restarts = self.sidecar_restarts
        self.last_restart = self.sidecar_last_restart
        running = False
        for status in reversed(items(self.pod, "status", "containerStatuses")):
            self.restarts += integer(status, "restartCount")
            self.last_restart = _later(self.last_restart, _finished_at(status))
            waiting_reason = text(status, "state", "waiting", "reason")
            terminated = dig(status, "state", "terminated")
            if waiting_reason:
                self.reason = waiting_reason
            elif terminated is not None:
                self.reason = _terminated_reason(terminated, "")
            elif dig(status, "ready") is True and has(status, "state", "running"):
                running = True
                self.ready += 1
        if self.reason == "Completed" and running:
            conditions = items(self.pod, "status", "conditions")
            ready = condition_status(conditions, "Ready") == "True"
            self.reason = "Running" if ready else "NotReady"


def _status(pod: Obj) -> _Summary:
    summary = _Summary(pod)
    for condition in items(pod, "status", "conditions"):
        if text(condition, "type") == "PodScheduled" and (
            text(condition, "reason") == "SchedulingGated"
        ):
            summary.reason = "SchedulingGated"
    initializing = summary.walk_init_containers()
    conditions = items(pod, "status", "conditions")
    if not initializing or condition_status(conditions, "Initialized") == "True":
        summary.walk_containers()
    deleted = has(pod, "metadata", "deletionTimestamp")
    phase = text(pod, "status", "phase")
    if deleted and text(pod, "status", "reason") == NODE_UNREACHABLE_REASON:
        summary.reason = "Unknown"
    elif deleted and phase not in ("Succeeded", "Failed"):
        summary.reason = "Terminating"
    return summary


def _readiness_gates(pod: Obj) -> str:
    gates = items(pod, "spec", "readinessGates")
    if not gates:
        return "<none>"
    conditions = items(pod, "status", "conditions")
    passed = sum(
        1 for gate in gates if condition_status(conditions, text(gate, "conditionType")) == "True"
    )
    return f"{passed}/{len(gates)}"


def pod_cells(pod: Obj, now: datetime) -> list[Any]:
    summary = _status(pod)
    restarts = str(summary.restarts)
    if summary.restarts and summary.last_restart is not None:
        restarts = f"{summary.restarts} ({since(summary.last_restart.isoformat(), now)} ago)"
    ips = items(pod, "status", "podIPs")
    pod_ip = text(ips[0], "ip") if ips else text(pod, "status", "podIP")
    return [
        name(pod),
        f"{summary.ready}/{summary.total}",
        summary.reason,
        restarts,
        since(dig(pod, "metadata", "creationTimestamp"), now),
        pod_ip or "<none>",
        text(pod, "spec", "nodeName") or "<none>",
        text(pod, "status", "nominatedNodeName") or "<none>",
        _readiness_gates(pod),
    ]


def pod_conditions(pod: Obj) -> list[dict[str, str]]:
    phase = text(pod, "status", "phase")
    if phase == "Succeeded":
        message = "The pod has completed successfully."
    elif phase == "Failed":
        message = "The pod failed."
    else:
        return []
    return [{"type": "Completed", "status": "True", "reason": phase, "message": message}]


PRINTERS = {("", "pods"): Printer(COLUMNS, pod_cells, pod_conditions)}
