"""A pod's life on a simulated node, computed from times: start, readiness, exits, restarts,
the status a kubelet would write, addresses, and the hidden options."""

from __future__ import annotations

from typing import Any

from corral.node.addresses import PodIPs, node_ip, pod_cidr
from corral.node.options import SimulatedNodeOptions, options_from_env
from corral.node.podstatus import pod_status
from corral.node.runtime import PodRuntime, adopt, advance, exit_plan, kill, next_event
from corral.node.timefmt import rfc3339

T0 = 1_700_000_000.0
BASE, CAP = 10.0, 300.0


def pod(
    *, annotations: dict[str, str] | None = None, restart: str = "Always", **spec: Any
) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "annotations": annotations or {}},
        "spec": {
            "nodeName": "corral-sim-0",
            "restartPolicy": restart,
            "containers": [{"name": "a", "image": "nginx"}],
            **spec,
        },
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    }


def runtime(p: dict[str, Any], delay: float = 1.0) -> PodRuntime:
    return PodRuntime("u1", "ns", "p", "corral-sim-0", T0, T0 + delay, "10.42.0.2", exit_plan(p))


def conditions(status: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in status["conditions"]}


def test_pending_then_running_and_ready() -> None:
    p = pod()
    rt = runtime(p)
    advance(rt, p, T0, BASE, CAP)
    status = pod_status(p, rt, "198.18.0.1", T0)
    assert status["phase"] == "Pending"
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert "podIP" not in status
    assert status["hostIP"] == "198.18.0.1"
    assert status["qosClass"] == "BestEffort"
    assert next_event(rt, p, T0, BASE, CAP) == T0 + 1

    advance(rt, p, T0 + 1, BASE, CAP)
    status = pod_status(p, rt, "198.18.0.1", T0 + 1)
    assert status["phase"] == "Running"
    assert status["podIPs"] == [{"ip": "10.42.0.2"}]
    assert status["startTime"] == rfc3339(T0)
    assert set(conditions(status).values()) == {"True"}
    assert list(conditions(status)) == [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    cs = status["containerStatuses"][0]
    assert cs["ready"]
    assert cs["started"]
    assert cs["restartCount"] == 0
    assert cs["containerID"].startswith("simulated://")
    assert cs["imageID"].startswith("simulated://sha256:")
    assert cs["state"] == {"running": {"startedAt": rfc3339(T0 + 1)}}
    # Nothing new: the same status (so nothing is written).
    p["status"] = status
    assert pod_status(p, rt, "198.18.0.1", T0 + 50) == status
    assert next_event(rt, p, T0 + 50, BASE, CAP) is None


def test_readiness_waits_for_the_probe_delay_and_init_containers_complete() -> None:
    probe = {"initialDelaySeconds": 5, "httpGet": {"port": 80}}
    p = pod(
        containers=[{"name": "a", "image": "nginx", "readinessProbe": probe}],
        initContainers=[{"name": "i", "image": "busybox"}],
    )
    rt = runtime(p, delay=0)
    advance(rt, p, T0, BASE, CAP)
    status = pod_status(p, rt, "198.18.0.1", T0 + 1)
    assert conditions(status)["Ready"] == "False"
    assert status["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    assert next_event(rt, p, T0 + 1, BASE, CAP) == T0 + 5
    assert conditions(pod_status(p, rt, "198.18.0.1", T0 + 5))["Ready"] == "True"


def test_exit_code_never_ends_the_pod() -> None:
    for code, phase, reason in ((0, "Succeeded", "Completed"), (3, "Failed", "Error")):
        p = pod(
            annotations={
                "corral.io/simulate-exit-code": str(code),
                "corral.io/simulate-run-seconds": "2",
            },
            restart="Never",
        )
        rt = runtime(p, delay=0)
        advance(rt, p, T0, BASE, CAP)
        assert next_event(rt, p, T0, BASE, CAP) == T0 + 2
        advance(rt, p, T0 + 2, BASE, CAP)
        status = pod_status(p, rt, "198.18.0.1", T0 + 2)
        assert status["phase"] == phase
        term = status["containerStatuses"][0]["state"]["terminated"]
        assert (term["exitCode"], term["reason"]) == (code, reason)
        assert conditions(status)["Ready"] == "False"


def test_on_failure_restarts_with_back_off() -> None:
    p = pod(annotations={"corral.io/simulate-exit-code": "1"}, restart="OnFailure")
    rt = runtime(p, delay=0)
    advance(rt, p, T0, BASE, CAP)
    status = pod_status(p, rt, "198.18.0.1", T0)
    cs = status["containerStatuses"][0]
    assert status["phase"] == "Running"
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert next_event(rt, p, T0, BASE, CAP) == T0 + 10
    advance(rt, p, T0 + 10, BASE, CAP)  # restarts and exits again; next back-off doubles
    assert rt.containers["a"].restarts == 1
    assert next_event(rt, p, T0 + 10, BASE, CAP) == T0 + 30
    assert rt.run_of("a", previous=True) is rt.containers["a"].current


def test_kill_terminates_running_containers() -> None:
    p = pod()
    rt = runtime(p, delay=0)
    advance(rt, p, T0, BASE, CAP)
    kill(rt, T0 + 3)
    status = pod_status(p, rt, "198.18.0.1", T0 + 3)
    assert status["phase"] == "Succeeded"
    assert status["containerStatuses"][0]["state"]["terminated"]["finishedAt"] == rfc3339(T0 + 3)


def test_a_restarted_node_adopts_what_the_pod_reports() -> None:
    p = pod()
    rt = runtime(p, delay=0)
    advance(rt, p, T0, BASE, CAP)
    p["status"] = pod_status(p, rt, "198.18.0.1", T0)
    fresh = runtime(p, delay=1)
    assert adopt(fresh, p)
    assert pod_status(p, fresh, "198.18.0.1", T0 + 60) == p["status"]
    assert not adopt(runtime(pod()), pod())


def test_addresses() -> None:
    assert node_ip(0) == "198.18.0.1"
    assert pod_cidr(3) == "10.42.3.0/24"
    assert pod_cidr(300) == "10.43.44.0/24"
    ips = PodIPs("10.42.0.0/24")
    assert ips.allocate("a") == "10.42.0.2"
    assert ips.allocate("b") == "10.42.0.3"
    assert ips.allocate("a") == "10.42.0.2"
    ips.release("a")
    assert ips.allocate("c") == "10.42.0.2"
    assert not ips.owns("10.42.0.3")
    assert ips.owns("10.42.0.9")
    assert not ips.owns("10.9.0.1")


def test_options_from_env() -> None:
    opts = options_from_env({"CORRAL_SIM_LEASE_RENEW": "0.5", "CORRAL_SIM_POD_START_DELAY": "0"})
    assert opts.lease_renew_interval == 0.5
    assert opts.pod_start_delay == 0
    assert opts.status_interval == SimulatedNodeOptions().status_interval
    assert options_from_env({"CORRAL_SIM_LEASE_RENEW": "nope"}) == SimulatedNodeOptions()
