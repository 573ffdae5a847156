"""What a simulated node remembers about each pod: its containers' runs.

A real kubelet asks its container runtime what runs; a simulated node keeps
the answer here instead. Per pod (by uid): when it arrived, when its
containers start, its IP, and per container the runs so far (at most the
current and the previous one, for ``previous`` logs) and the restart count.

Everything is computed from times, never from timers: `advance` moves a
pod's runtime to ``now`` (containers start, exit, restart after back-off)
and `next_event` says when something will next change, so the pod sync
only needs one delayed re-queue per pod. A pod's exit plan comes from its
annotations (`corral.node.refs`): without ``corral.io/simulate-exit-code``
containers run until the pod is deleted; with it they exit after
``corral.io/simulate-run-seconds`` (default 0) and restart as the pod's
``restartPolicy`` says (Never: no; OnFailure: on a non-zero code; Always:
yes), with the kubelet's doubling back-off.

Container IDs are derived from the pod uid, container and restart count, so
they are stable and a restarted server recognises them (`adopt`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from corral.node.refs import EXIT_CODE_ANNOTATION, RUN_SECONDS_ANNOTATION
from corral.node.timefmt import parse_rfc3339

Obj = dict[str, Any]
ID_SCHEME = "simulated://"


def container_id(uid: str, name: str, restart: int) -> str:
    digest = hashlib.sha256(f"{uid}/{name}/{restart}".encode()).hexdigest()
    return f"{ID_SCHEME}{digest}"


def image_id(image: str) -> str:
    return f"{ID_SCHEME}sha256:{hashlib.sha256(image.encode()).hexdigest()}"


@dataclass(slots=True)
class ContainerRun:
    """One run of one container; ``finished`` is None while it runs."""

    container_id: str
    started: float
    finished: float | None = None
    exit_code: int = 0

    @property
    def reason(self) -> str:
        return "Completed" if self.exit_code == 0 else "Error"

    def finish(self, at: float, exit_code: int) -> None:
        self.finished = at
        self.exit_code = exit_code


@dataclass(frozen=True, slots=True)
class ExitPlan:
    """When the containers of a pod exit, and whether they come back."""

    exit_code: int | None = None
    run_seconds: float = 0.0
    restart_policy: str = "Always"

    def restarts_after(self, exit_code: int) -> bool:
        if self.restart_policy == "Never":
            return False
        if self.restart_policy == "OnFailure":
            return exit_code != 0
        return True


def exit_plan(pod: Obj) -> ExitPlan:
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    policy = str((pod.get("spec") or {}).get("restartPolicy") or "Always")
    code_text = str(annotations.get(EXIT_CODE_ANNOTATION, "")).strip()
    try:
        code: int | None = int(code_text) if code_text else None
    except ValueError:
        code = None
    try:
        run = max(0.0, float(str(annotations.get(RUN_SECONDS_ANNOTATION, "0")).strip() or 0))
    except ValueError:
        run = 0.0
    return ExitPlan(code, run, policy)


@dataclass(slots=True)
class ContainerRuns:
    """The runs of one container (the last is the current one)."""

    runs: list[ContainerRun] = field(default_factory=list)
    restarts: int = 0

    @property
    def current(self) -> ContainerRun | None:
        return self.runs[-1] if self.runs else None

    @property
    def previous(self) -> ContainerRun | None:
        return self.runs[-2] if len(self.runs) > 1 else None


@dataclass(slots=True)
class PodRuntime:
    """One pod on one simulated node."""

    uid: str
    namespace: str
    name: str
    node: str
    seen: float
    start_at: float
    pod_ip: str
    plan: ExitPlan
    init: dict[str, ContainerRun] = field(default_factory=dict)
    containers: dict[str, ContainerRuns] = field(default_factory=dict)
    killed: float | None = None
    delete_sent: bool = False
    #: The last status written and the status the server answered with.
    reported: tuple[Obj, Obj] | None = None

    @property
    def started(self) -> bool:
        return bool(self.containers)

    def run_of(self, container: str, previous: bool = False) -> ContainerRun | None:
        """The run whose log a request gets (the kubelet's choice), if any.

        A container waiting to restart shows its last run, and that same run
        is its "previous" one (``lastState.terminated``)."""
        if container in self.init:
            return None if previous else self.init[container]
        runs = self.containers.get(container)
        if runs is None:
            return None
        cur = runs.current
        if not previous:
            return cur
        if cur is not None and cur.finished is not None and self.restarting(cur):
            return cur
        return runs.previous

    def restarting(self, run: ContainerRun) -> bool:
        return self.killed is None and self.plan.restarts_after(run.exit_code)

    def finished(self) -> bool:
        """Every container has exited for good (the pod is terminal)."""
        if not self.started:
            return False
        for runs in self.containers.values():
            cur = runs.current
            if cur is None or cur.finished is None:
                return False
            if self.killed is None and self.plan.restarts_after(cur.exit_code):
                return False
        return True


def backoff(restarts: int, base: float, cap: float) -> float:
    return float(min(base * (2 ** min(restarts, 30)), cap))


def start(rt: PodRuntime, pod: Obj) -> None:
    """Init containers complete at ``start_at``; app containers start then."""
    spec = pod.get("spec") or {}
    for c in spec.get("initContainers") or []:
        name = str(c.get("name", ""))
        run = ContainerRun(container_id(rt.uid, name, 0), rt.start_at)
        run.finish(rt.start_at, 0)
        rt.init[name] = run
    for c in spec.get("containers") or []:
        name = str(c.get("name", ""))
        rt.containers[name] = ContainerRuns(
            [ContainerRun(container_id(rt.uid, name, 0), rt.start_at)]
        )


def advance(rt: PodRuntime, pod: Obj, now: float, base: float, cap: float) -> None:
    """Bring ``rt`` to ``now``: start, exit and restart containers as their times come."""
    if rt.killed is not None or now < rt.start_at:
        return
    if not rt.started:
        start(rt, pod)
    plan = rt.plan
    for name, runs in rt.containers.items():
        while True:
            cur = runs.current
            if cur is None:
                break
            if cur.finished is None:
                if plan.exit_code is None:
                    break
                end = cur.started + plan.run_seconds
                if now < end:
                    break
                cur.finish(end, plan.exit_code)
            if not plan.restarts_after(cur.exit_code):
                break
            assert cur.finished is not None
            again = cur.finished + backoff(runs.restarts, base, cap)
            if now < again:
                break
            runs.restarts += 1
            runs.runs = [cur, ContainerRun(container_id(rt.uid, name, runs.restarts), again)]


def kill(rt: PodRuntime, now: float) -> None:
    """Stop every running container (graceful deletion): they exit 0."""
    for runs in rt.containers.values():
        cur = runs.current
        if cur is not None and cur.finished is None:
            cur.finish(now, 0)
    rt.killed = now


def readiness_delay(container: Obj) -> float:
    probe = container.get("readinessProbe")
    if not isinstance(probe, dict):
        return 0.0
    delay = probe.get("initialDelaySeconds") or 0
    return float(delay) if isinstance(delay, int | float) else 0.0


def next_event(rt: PodRuntime, pod: Obj, now: float, base: float, cap: float) -> float | None:
    """When ``rt`` next changes by itself (a start, exit, restart or readiness), if ever."""
    if rt.killed is not None:
        return None
    if not rt.started:
        return rt.start_at
    times: list[float] = []
    delays = {
        str(c.get("name", "")): readiness_delay(c)
        for c in (pod.get("spec") or {}).get("containers") or []
    }
    for name, runs in rt.containers.items():
        cur = runs.current
        if cur is None:
            continue
        if cur.finished is None:
            ready_at = cur.started + delays.get(name, 0.0)
            if ready_at > now:
                times.append(ready_at)
            if rt.plan.exit_code is not None:
                times.append(cur.started + rt.plan.run_seconds)
        elif rt.plan.restarts_after(cur.exit_code):
            times.append(cur.finished + backoff(runs.restarts, base, cap))
    future = [t for t in times if t > now]
    return min(future) if future else None


def adopt(rt: PodRuntime, pod: Obj) -> bool:
    """Fill ``rt`` from the status the pod reports (a node restarted); False if none."""
    status = pod.get("status") or {}
    found = False
    for cs in status.get("initContainerStatuses") or []:
        run = _run_from(cs.get("state") or {}, str(cs.get("containerID") or ""))
        if run is not None and run.container_id.startswith(ID_SCHEME):
            rt.init[str(cs.get("name", ""))] = run
    for cs in status.get("containerStatuses") or []:
        runs = ContainerRuns(restarts=int(cs.get("restartCount") or 0))
        last = _run_from(cs.get("lastState") or {}, "")
        cur = _run_from(cs.get("state") or {}, str(cs.get("containerID") or ""))
        runs.runs = [
            r for r in (last, cur) if r is not None and r.container_id.startswith(ID_SCHEME)
        ]
        if runs.runs:
            found = True
            rt.containers[str(cs.get("name", ""))] = runs
    if not found:
        rt.init.clear()
        rt.containers.clear()
        return False
    started = parse_rfc3339(str(status.get("startTime") or ""))
    if started is not None:
        rt.seen = started
    rt.start_at = min(r.started for runs in rt.containers.values() for r in runs.runs)
    return True


def _run_from(state: Obj, container_id: str) -> ContainerRun | None:
    running, terminated = state.get("running"), state.get("terminated")
    if isinstance(running, dict):
        started = parse_rfc3339(str(running.get("startedAt") or ""))
        if started is None:
            return None
        return ContainerRun(container_id, started)
    if isinstance(terminated, dict):
        started = parse_rfc3339(str(terminated.get("startedAt") or ""))
        finished = parse_rfc3339(str(terminated.get("finishedAt") or ""))
        if started is None or finished is None:
            return None
        run = ContainerRun(str(terminated.get("containerID") or container_id), started)
        run.finish(finished, int(terminated.get("exitCode") or 0))
        return run
    return None
