"""The status a kubelet would report for a pod, from the node's `PodRuntime`.

`pod_status` is pure: the pod as stored, what the node knows about it, and
the time give the whole ``status`` the node writes. It sets only what a
kubelet owns — phase, the five kubelet conditions (in the kubelet's order,
keeping each ``lastTransitionTime`` while its status holds), host and pod
IPs, ``startTime``, init and app container statuses — and keeps everything
else (``qosClass``, conditions others own such as readiness gates or
``DisruptionTarget``, ``nominatedNodeName``) as it is. Called again with
nothing new, it returns the same status, so the sync writes only changes.
"""

from __future__ import annotations

from typing import Any

from corral.machinery.jsoncopy import json_copy
from corral.node.runtime import ContainerRun, PodRuntime, image_id, readiness_delay
from corral.node.timefmt import rfc3339

Obj = dict[str, Any]

KUBELET_CONDITIONS = (
    "PodReadyToStartContainers",
    "Initialized",
    "Ready",
    "ContainersReady",
    "PodScheduled",
)


def pod_phase(rt: PodRuntime) -> str:
    if not rt.started:
        return "Pending"
    if rt.finished():
        ok = all(r.current is not None and r.current.exit_code == 0 for r in rt.containers.values())
        return "Succeeded" if ok else "Failed"
    return "Running"


def _terminated(run: ContainerRun) -> Obj:
    assert run.finished is not None
    return {
        "terminated": {
            "exitCode": run.exit_code,
            "reason": run.reason,
            "startedAt": rfc3339(run.started),
            "finishedAt": rfc3339(run.finished),
            "containerID": run.container_id,
        }
    }


def _waiting(reason: str, message: str = "") -> Obj:
    waiting = {"reason": reason}
    if message:
        waiting["message"] = message
    return {"waiting": waiting}


def _base_status(container: Obj) -> Obj:
    image = str(container.get("image", ""))
    return {"name": str(container.get("name", "")), "image": image, "imageID": ""}


def _init_statuses(pod: Obj, rt: PodRuntime) -> list[Obj]:
    out = []
    for c in (pod.get("spec") or {}).get("initContainers") or []:
        cs = _base_status(c)
        run = rt.init.get(cs["name"])
        if run is None or run.finished is None:
            cs.update(ready=False, restartCount=0, started=False, state=_waiting("PodInitializing"))
        else:
            cs.update(
                imageID=image_id(cs["image"]),
                containerID=run.container_id,
                ready=True,
                restartCount=0,
                started=False,
                state=_terminated(run),
            )
        out.append(cs)
    return out


def _container_statuses(pod: Obj, rt: PodRuntime, now: float) -> tuple[list[Obj], list[str]]:
    """The app containers' statuses and the names of those not ready."""
    spec = pod.get("spec") or {}
    waiting_reason = "PodInitializing" if spec.get("initContainers") else "ContainerCreating"
    out: list[Obj] = []
    unready: list[str] = []
    for c in spec.get("containers") or []:
        cs = _base_status(c)
        name = cs["name"]
        runs = rt.containers.get(name)
        cur = runs.current if runs is not None else None
        if runs is None or cur is None:
            cs.update(ready=False, restartCount=0, started=False, state=_waiting(waiting_reason))
            out.append(cs)
            unready.append(name)
            continue
        ready = False
        cs.update(imageID=image_id(cs["image"]), containerID=cur.container_id)
        if cur.finished is None:
            state: Obj = {"running": {"startedAt": rfc3339(cur.started)}}
            ready = now >= cur.started + readiness_delay(c)
        elif rt.killed is None and rt.plan.restarts_after(cur.exit_code):
            message = (
                f"back-off restarting failed container={name} "
                f"pod={rt.name}_{rt.namespace}({rt.uid})"
            )
            state = _waiting("CrashLoopBackOff", message)
        else:
            state = _terminated(cur)
        last: Obj = {}
        prev = runs.previous
        if state.get("waiting") is not None:
            last = _terminated(cur)
        elif prev is not None and prev.finished is not None:
            last = _terminated(prev)
        cs.update(
            ready=ready,
            restartCount=runs.restarts,
            started=cur.finished is None,
            state=state,
        )
        if last:
            cs["lastState"] = last
        out.append(cs)
        if not ready:
            unready.append(name)
    return out, unready


def _condition(
    old: dict[str, Obj], kind: str, status: str, now: float, reason: str = "", message: str = ""
) -> Obj:
    previous = old.get(kind)
    since = rfc3339(now)
    if (
        previous is not None
        and previous.get("status") == status
        and previous.get("lastTransitionTime")
    ):
        since = str(previous["lastTransitionTime"])
    cond: Obj = {"type": kind, "status": status, "lastTransitionTime": since}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def _gates_message(pod: Obj, conditions: dict[str, Obj]) -> str:
    """Why the readiness gates hold the pod back ("" when they all pass)."""
    problems = []
    for gate in (pod.get("spec") or {}).get("readinessGates") or []:
        kind = str(gate.get("conditionType", ""))
        cond = conditions.get(kind)
        if cond is None:
            problems.append(
                f'corresponding condition of pod readiness gate "{kind}" does not exist.'
            )
        elif cond.get("status") != "True":
            problems.append(
                f'the status of pod readiness gate "{kind}" is not "True", but {cond.get("status")}'
            )
    return ", ".join(problems)


def pod_status(pod: Obj, rt: PodRuntime, host_ip: str, now: float) -> Obj:
    """The full status the node reports for ``pod`` at ``now``."""
    old: Obj = json_copy(pod.get("status") or {})
    old_conditions = {
        str(c.get("type")): c for c in old.get("conditions") or [] if isinstance(c, dict)
    }
    phase = pod_phase(rt)
    init = _init_statuses(pod, rt)
    containers, unready = _container_statuses(pod, rt, now)
    terminal = phase in ("Succeeded", "Failed")

    conds = [
        _condition(
            old_conditions, "PodReadyToStartContainers", "False" if terminal else "True", now
        ),
    ]
    initialized = rt.started or not init
    conds.append(
        _condition(
            old_conditions,
            "Initialized",
            "True" if initialized else "False",
            now,
            "PodCompleted" if terminal else ("" if initialized else "ContainersNotInitialized"),
            ""
            if initialized
            else f"containers with incomplete status: [{' '.join(c['name'] for c in init)}]",
        )
    )
    if terminal:
        ready = _condition(old_conditions, "Ready", "False", now, "PodCompleted")
        containers_ready = _condition(
            old_conditions, "ContainersReady", "False", now, "PodCompleted"
        )
    elif unready:
        message = f"containers with unready status: [{' '.join(unready)}]"
        ready = _condition(old_conditions, "Ready", "False", now, "ContainersNotReady", message)
        containers_ready = _condition(
            old_conditions, "ContainersReady", "False", now, "ContainersNotReady", message
        )
    else:
        containers_ready = _condition(old_conditions, "ContainersReady", "True", now)
        gates = _gates_message(pod, old_conditions)
        ready = (
            _condition(old_conditions, "Ready", "False", now, "ReadinessGatesNotReady", gates)
            if gates
            else _condition(old_conditions, "Ready", "True", now)
        )
    conds += [ready, containers_ready, _condition(old_conditions, "PodScheduled", "True", now)]
    conds += [c for t, c in old_conditions.items() if t not in KUBELET_CONDITIONS]

    status = old
    status["phase"] = phase
    status["conditions"] = conds
    status["hostIP"] = host_ip
    status["hostIPs"] = [{"ip": host_ip}]
    if rt.started and rt.pod_ip:
        status["podIP"] = rt.pod_ip
        status["podIPs"] = [{"ip": rt.pod_ip}]
    status["startTime"] = rfc3339(rt.seen)
    if init:
        status["initContainerStatuses"] = init
    status["containerStatuses"] = containers
    return status
