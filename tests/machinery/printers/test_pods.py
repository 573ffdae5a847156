"""Pod rows: READY, STATUS and RESTARTS as kubectl 1.32 shows them."""

from __future__ import annotations

from typing import Any

from corral.machinery.printers import to_table

from .helpers import NOW, ago, cells, headers, meta


def running(name: str, *, ready: bool = True, restarts: int = 0) -> dict[str, Any]:
    return {
        "name": name,
        "ready": ready,
        "restartCount": restarts,
        "started": True,
        "state": {"running": {"startedAt": ago(minutes=4)}},
    }


def waiting(name: str, reason: str, restarts: int = 0) -> dict[str, Any]:
    return {
        "name": name,
        "ready": False,
        "restartCount": restarts,
        "state": {"waiting": {"reason": reason}},
    }


def terminated(name: str, exit_code: int, reason: str = "", signal: int = 0) -> dict[str, Any]:
    state: dict[str, Any] = {"exitCode": exit_code, "finishedAt": ago(minutes=1)}
    if reason:
        state["reason"] = reason
    if signal:
        state["signal"] = signal
    return {"name": name, "ready": False, "restartCount": 0, "state": {"terminated": state}}


def pod(
    statuses: list[dict[str, Any]],
    *,
    phase: str = "Running",
    containers: int | None = None,
    init: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    **meta_extra: Any,
) -> dict[str, Any]:
    count = len(statuses) if containers is None else containers
    spec: dict[str, Any] = {
        "containers": [{"name": f"c{i}", "image": "nginx:1.27"} for i in range(count)],
        "nodeName": "node-1",
    }
    status: dict[str, Any] = {"phase": phase, "containerStatuses": statuses}
    if init is not None:
        spec["initContainers"] = init
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    if conditions is not None:
        status["conditions"] = conditions
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta("web-0", **meta_extra),
        "spec": spec,
        "status": status,
    }


def pod_cells(obj: dict[str, Any]) -> list[Any]:
    return cells("", "pods", obj)


def test_columns() -> None:
    assert headers("", "pods") == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert headers("", "pods", wide=True) == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED NODE",
        "READINESS GATES",
    ]
    columns = to_table("", "pods", [], now=NOW)["columnDefinitions"]
    assert columns[0]["format"] == "name"
    assert [c["priority"] for c in columns] == [0, 0, 0, 0, 0, 1, 1, 1, 1]


def test_running_pod_with_one_ready_container() -> None:
    obj = pod([running("c0"), running("c1", ready=False)])
    assert pod_cells(obj) == ["web-0", "1/2", "Running", "0", "5m"]


def test_crash_loop_back_off_with_restarts_ago() -> None:
    status = waiting("c0", "CrashLoopBackOff", restarts=3)
    status["lastState"] = {
        "terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(minutes=5)}
    }
    assert pod_cells(pod([status])) == ["web-0", "0/1", "CrashLoopBackOff", "3 (5m ago)", "5m"]


def test_restarts_without_last_termination_are_a_bare_count() -> None:
    assert pod_cells(pod([running("c0", restarts=2)]))[3] == "2"


def test_pending_container_creating() -> None:
    obj = pod([waiting("c0", "ContainerCreating")], phase="Pending")
    assert pod_cells(obj)[1:3] == ["0/1", "ContainerCreating"]


def test_pod_without_statuses_shows_its_phase() -> None:
    assert pod_cells(pod([], phase="Pending", containers=2))[1:3] == ["0/2", "Pending"]


def test_init_containers_progress() -> None:
    init = [{"name": "i0", "image": "busybox"}, {"name": "i1", "image": "busybox"}]
    statuses = [terminated("i0", 0, "Completed"), running("i1", ready=False)]
    obj = pod(
        [waiting("c0", "PodInitializing")], phase="Pending", init=init, init_statuses=statuses
    )
    assert pod_cells(obj)[1:3] == ["0/1", "Init:1/2"]


def test_init_container_waiting_reason() -> None:
    init = [{"name": "i0", "image": "busybox"}]
    obj = pod(
        [],
        phase="Pending",
        containers=1,
        init=init,
        init_statuses=[waiting("i0", "ImagePullBackOff")],
    )
    assert pod_cells(obj)[2] == "Init:ImagePullBackOff"


def test_init_container_failures() -> None:
    init = [{"name": "i0", "image": "busybox"}]
    by_code = pod([], phase="Pending", containers=1, init=init, init_statuses=[terminated("i0", 1)])
    assert pod_cells(by_code)[2] == "Init:ExitCode:1"
    by_reason = pod(
        [], phase="Pending", containers=1, init=init, init_statuses=[terminated("i0", 1, "Error")]
    )
    assert pod_cells(by_reason)[2] == "Init:Error"
    by_signal = pod(
        [],
        phase="Pending",
        containers=1,
        init=init,
        init_statuses=[terminated("i0", 137, signal=9)],
    )
    assert pod_cells(by_signal)[2] == "Init:Signal:9"


def test_init_waiting_pod_initializing_counts_progress() -> None:
    init = [{"name": "i0", "image": "busybox"}]
    obj = pod(
        [],
        phase="Pending",
        containers=1,
        init=init,
        init_statuses=[waiting("i0", "PodInitializing")],
    )
    assert pod_cells(obj)[2] == "Init:0/1"


def test_sidecar_counts_towards_ready_and_restarts() -> None:
    init = [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]
    sidecar = running("proxy", restarts=1)
    sidecar["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": ago(minutes=3)}}
    obj = pod(
        [running("c0")],
        init=init,
        init_statuses=[sidecar],
        conditions=[{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
    )
    assert pod_cells(obj) == ["web-0", "2/2", "Running", "1 (3m ago)", "5m"]


def test_completed_pod_and_row_condition() -> None:
    obj = pod([terminated("c0", 0, "Completed")], phase="Succeeded")
    table = to_table("", "pods", [obj], now=NOW)
    assert table["rows"][0]["cells"][1:3] == ["0/1", "Completed"]
    assert table["rows"][0]["conditions"] == [
        {
            "type": "Completed",
            "status": "True",
            "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }
    ]


def test_failed_pod_error_and_exit_codes() -> None:
    failed = pod([terminated("c0", 1, "Error")], phase="Failed")
    table = to_table("", "pods", [failed], now=NOW)
    assert table["rows"][0]["cells"][2] == "Error"
    assert table["rows"][0]["conditions"][0]["message"] == "The pod failed."
    assert pod_cells(pod([terminated("c0", 137)], phase="Failed"))[2] == "ExitCode:137"
    assert pod_cells(pod([terminated("c0", 0, signal=15)], phase="Failed"))[2] == "Signal:15"


def test_running_pod_has_no_row_conditions() -> None:
    table = to_table("", "pods", [pod([running("c0")])], now=NOW)
    assert "conditions" not in table["rows"][0]


def test_completed_container_next_to_running_one() -> None:
    statuses = [terminated("c0", 0, "Completed"), running("c1")]
    ready = pod(statuses, conditions=[{"type": "Ready", "status": "True"}])
    assert pod_cells(ready)[1:3] == ["1/2", "Running"]
    not_ready = pod(statuses, conditions=[{"type": "Ready", "status": "False"}])
    assert pod_cells(not_ready)[1:3] == ["1/2", "NotReady"]


def test_first_container_reason_wins() -> None:
    statuses = [waiting("c0", "ImagePullBackOff"), waiting("c1", "CrashLoopBackOff")]
    assert pod_cells(pod(statuses, phase="Pending"))[2] == "ImagePullBackOff"


def test_deleted_pods() -> None:
    deleting = pod([running("c0")], deletionTimestamp=ago(seconds=10))
    assert pod_cells(deleting)[2] == "Terminating"
    lost = pod([running("c0")], deletionTimestamp=ago(seconds=10))
    lost["status"]["reason"] = "NodeLost"
    assert pod_cells(lost)[2] == "Unknown"
    finished = pod(
        [terminated("c0", 0, "Completed")], phase="Succeeded", deletionTimestamp=ago(seconds=10)
    )
    assert pod_cells(finished)[2] == "Completed"


def test_status_reason_and_scheduling_gates() -> None:
    evicted = pod([], phase="Failed", containers=1)
    evicted["status"]["reason"] = "Evicted"
    assert pod_cells(evicted)[2] == "Evicted"
    gated = pod(
        [],
        phase="Pending",
        containers=1,
        conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}],
    )
    assert pod_cells(gated)[2] == "SchedulingGated"


def test_wide_cells() -> None:
    obj = pod([running("c0")])
    obj["status"]["podIP"] = "10.244.0.5"
    obj["status"]["podIPs"] = [{"ip": "10.244.0.5"}, {"ip": "fd00::5"}]
    obj["spec"]["readinessGates"] = [{"conditionType": "a/one"}, {"conditionType": "a/two"}]
    obj["status"]["conditions"] = [
        {"type": "a/one", "status": "True"},
        {"type": "a/two", "status": "False"},
    ]
    assert cells("", "pods", obj, wide=True)[5:] == ["10.244.0.5", "node-1", "<none>", "1/2"]
    bare = pod([], phase="Pending", containers=1)
    del bare["spec"]["nodeName"]
    assert cells("", "pods", bare, wide=True)[5:] == ["<none>", "<none>", "<none>", "<none>"]
