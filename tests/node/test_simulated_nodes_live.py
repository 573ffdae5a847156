"""``corral server --simulate-nodes 3`` seen through the real kubectl (default flags).

One server for the module, with short intervals set by the hidden
``CORRAL_SIM_*`` variables (Lease renewed every 0.5 s, pods start 0.3 s after
they reach their node, a log line every 0.2 s). Every wait polls with a
deadline; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import polling
from kubectlproc import get_json, kubectl_argv, kubectl_env, kubectl_ok, run_kubectl
from serverproc import CorralServer, module_server

ENV = {
    "CORRAL_SIM_LEASE_RENEW": "0.5",
    "CORRAL_SIM_STATUS_INTERVAL": "2",
    "CORRAL_SIM_POD_START_DELAY": "0.3",
    "CORRAL_SIM_LOG_INTERVAL": "0.2",
    "CORRAL_SIM_RESTART_BACKOFF": "0.5",
}
NODES = ["corral-sim-0", "corral-sim-1", "corral-sim-2"]


server = module_server("simnodes", ["--simulate-nodes", "3"], env=ENV)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kubectl-home")


@pytest.fixture
def ns(server: CorralServer, home: Path) -> str:
    name = "sim-" + uuid.uuid4().hex[:6]
    kubectl_ok(server, home, "create", "namespace", name)
    return name


poll = partial(polling.poll, deadline=20.0, interval=0.05)


def make_pod(
    server: CorralServer,
    home: Path,
    ns: str,
    name: str,
    node: str = "corral-sim-1",
    containers: tuple[str, ...] = ("app",),
    restart: str = "Always",
    annotations: dict[str, str] | None = None,
    finalizers: tuple[str, ...] = (),
) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "annotations": annotations or {},
            "finalizers": list(finalizers),
        },
        "spec": {
            "nodeName": node,
            "restartPolicy": restart,
            "containers": [{"name": c, "image": "nginx:1.27"} for c in containers],
        },
    }
    kubectl_ok(server, home, "create", "-f", "-", stdin=json.dumps(pod))


def running(server: CorralServer, home: Path, ns: str, name: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        pod: dict[str, Any] = get_json(server, home, "pod", name, "-n", ns)
        ready = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}
        ok = pod["status"].get("phase") == "Running" and ready.get("Ready") == "True"
        return pod if ok else None

    pod: dict[str, Any] = poll(check, what=f"pod {name} running")
    return pod


def test_three_ready_nodes_with_the_server_version(server: CorralServer, home: Path) -> None:
    version = json.loads(kubectl_ok(server, home, "version", "-o", "json"))["serverVersion"]
    git_version = version["gitVersion"]

    def ready_rows() -> list[list[str]] | None:
        rows = [line.split() for line in kubectl_ok(server, home, "get", "nodes").splitlines()[1:]]
        ok = len(rows) == 3 and all(r[1] == "Ready" and r[-1] == git_version for r in rows)
        return rows if ok else None

    rows = poll(ready_rows, what="3 Ready nodes")
    assert [r[0] for r in rows] == NODES
    nodes = get_json(server, home, "nodes")["items"]
    for i, node in enumerate(nodes):
        meta, status = node["metadata"], node["status"]
        assert meta["labels"]["kubernetes.io/hostname"] == NODES[i]
        assert meta["labels"]["kubernetes.io/os"] == "linux"
        assert meta["labels"]["kubernetes.io/arch"] == "amd64"
        assert meta["labels"]["node.kubernetes.io/instance-type"] == "simulated"
        assert meta["annotations"]["corral.io/simulated"] == "true"
        assert status["capacity"]["cpu"] == "8"
        assert status["capacity"]["pods"] == "110"
        assert status["allocatable"]["memory"]
        info = status["nodeInfo"]
        assert info["kubeletVersion"] == git_version
        assert info["containerRuntimeVersion"] == "simulated://1.0"
        assert info["architecture"] == "amd64"
        assert info["operatingSystem"] == "linux"
        addresses = {a["type"]: a["address"] for a in status["addresses"]}
        assert addresses == {"InternalIP": f"198.18.0.{i + 1}", "Hostname": NODES[i]}
        conditions = {c["type"]: c for c in status["conditions"]}
        assert conditions["Ready"]["status"] == "True"
        assert conditions["Ready"]["reason"] == "KubeletReady"
        for kind in ("MemoryPressure", "DiskPressure", "PIDPressure"):
            assert conditions[kind]["status"] == "False"
        assert node["spec"]["podCIDR"] == f"10.42.{i}.0/24"


def test_leases_are_renewed(server: CorralServer, home: Path) -> None:
    lease = poll(
        lambda: (
            run_kubectl(
                server, home, "get", "lease", "corral-sim-2", "-n", "kube-node-lease", "-o", "json"
            ).stdout
        ),
        what="the lease exists",
    )
    first = json.loads(lease)["spec"]
    assert first["holderIdentity"] == "corral-sim-2"
    assert first["leaseDurationSeconds"] == 40

    def renewed() -> bool:
        spec = get_json(server, home, "lease", "corral-sim-2", "-n", "kube-node-lease")["spec"]
        return bool(spec["renewTime"] > first["renewTime"])

    poll(renewed, what="renewTime advances")


def test_node_status_heartbeat_advances(server: CorralServer, home: Path) -> None:
    def heartbeat() -> str:
        node = get_json(server, home, "node", "corral-sim-0")
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        return str(ready["lastHeartbeatTime"])

    first = poll(heartbeat, what="a heartbeat")
    poll(lambda: heartbeat() > first, what="lastHeartbeatTime advances")


def test_a_bound_pod_runs_and_is_ready(server: CorralServer, home: Path, ns: str) -> None:
    make_pod(server, home, ns, "web", node="corral-sim-1")
    pod = running(server, home, ns, "web")
    status = pod["status"]
    assert re.fullmatch(r"10\.42\.1\.\d+", status["podIP"])
    assert status["podIPs"] == [{"ip": status["podIP"]}]
    assert status["hostIP"] == "198.18.0.2"
    assert status["startTime"]
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    for kind in ("PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"):
        assert conditions[kind] == "True"
    assert conditions["PodScheduled"] == "True"
    (cs,) = status["containerStatuses"]
    assert cs["ready"]
    assert cs["started"]
    assert cs["restartCount"] == 0
    assert cs["containerID"].startswith("simulated://")
    assert cs["imageID"].startswith("simulated://sha256:")
    assert "startedAt" in cs["state"]["running"]
    row = kubectl_ok(server, home, "get", "pod", "web", "-n", ns).splitlines()[1].split()
    assert row[1:3] == ["1/1", "Running"]


def test_logs_tail_and_timestamps(server: CorralServer, home: Path, ns: str) -> None:
    make_pod(server, home, ns, "talker", node="corral-sim-0")
    running(server, home, ns, "talker")

    def some_lines() -> list[str] | None:
        lines = kubectl_ok(server, home, "logs", "talker", "-n", ns).splitlines()
        return lines if len(lines) >= 4 else None

    lines = poll(some_lines, what="four log lines")
    assert lines[:2] == [
        f"simulated container app of pod {ns}/talker: line 1",
        f"simulated container app of pod {ns}/talker: line 2",
    ]
    tail = kubectl_ok(server, home, "logs", "talker", "-n", ns, "--tail", "2").splitlines()
    assert len(tail) == 2
    numbers = [int(line.rsplit(" ", 1)[1]) for line in tail]
    assert numbers[1] == numbers[0] + 1
    assert numbers[0] >= 3
    stamped = kubectl_ok(server, home, "logs", "talker", "-n", ns, "--timestamps", "--tail", "1")
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z simulated container app of pod \S+: line \d+\n",
        stamped,
    )
    limited = kubectl_ok(server, home, "logs", "talker", "-n", ns, "--limit-bytes", "10")
    assert limited == "simulated "


def test_logs_follow(server: CorralServer, home: Path, ns: str) -> None:
    make_pod(server, home, ns, "follower", node="corral-sim-2")
    running(server, home, ns, "follower")
    proc = subprocess.Popen(
        kubectl_argv(server, "logs", "-f", "follower", "-n", ns, "--tail", "1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=kubectl_env(home),
        text=True,
    )
    try:
        assert proc.stdout is not None
        got = [proc.stdout.readline() for _ in range(4)]
    finally:
        proc.kill()
        proc.wait(10)
    numbers = [int(line.rsplit(" ", 1)[1]) for line in got]
    assert numbers == list(range(numbers[0], numbers[0] + 4)), got


def test_log_options_the_api_checks(server: CorralServer, home: Path, ns: str) -> None:
    make_pod(server, home, ns, "duo", containers=("a", "b"))
    running(server, home, ns, "duo")
    base = f"/api/v1/namespaces/{ns}/pods/duo/log"
    with server.client(server.token) as http:
        answer = http.get(base)
        assert answer.status_code == 400
        assert answer.json()["message"] == (
            "a container name must be specified for pod duo, choose one of: [a b]"
        )
        answer = http.get(base, params={"container": "c"})
        assert answer.status_code == 400
        assert answer.json()["message"] == "container c is not valid for pod duo"
        answer = http.get(base, params={"container": "a", "tailLines": "-1"})
        assert answer.status_code == 422
        assert answer.json()["reason"] == "Invalid"
        answer = http.get(base, params={"container": "a", "previous": "true"})
        assert answer.status_code == 400
        assert "previous terminated container" in answer.json()["message"]
        answer = http.get(base, params={"container": "b", "tailLines": "1"})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        assert answer.text.startswith(f"simulated container b of pod {ns}/duo: line ")


def test_exec_says_the_node_is_simulated(server: CorralServer, home: Path, ns: str) -> None:
    make_pod(server, home, ns, "shell")
    running(server, home, ns, "shell")
    done = run_kubectl(server, home, "exec", "shell", "-n", ns, "--", "ls")
    assert done.returncode != 0
    assert 'node "corral-sim-1" is a simulated node' in done.stderr, done.stderr
    assert "runs no containers" in done.stderr


def test_delete_returns_once_the_node_is_done(server: CorralServer, home: Path, ns: str) -> None:
    make_pod(server, home, ns, "doomed")
    running(server, home, ns, "doomed")
    kubectl_ok(server, home, "delete", "pod", "doomed", "-n", ns)
    gone = run_kubectl(server, home, "get", "pod", "doomed", "-n", ns)
    assert gone.returncode != 0
    assert "NotFound" in gone.stderr


def test_a_deleting_pod_has_its_containers_stopped(
    server: CorralServer, home: Path, ns: str
) -> None:
    # A finalizer holds the pod after its deletionTimestamp is set: the node's
    # part of a graceful deletion (containers terminated) can be seen.
    make_pod(server, home, ns, "held", finalizers=("example.com/hold",))
    running(server, home, ns, "held")
    kubectl_ok(server, home, "delete", "pod", "held", "-n", ns, "--wait=false")

    def stopped() -> dict[str, Any] | None:
        status: dict[str, Any] = get_json(server, home, "pod", "held", "-n", ns)["status"]
        state = status["containerStatuses"][0]["state"]
        return status if "terminated" in state else None

    status = poll(stopped, what="containers terminated")
    assert status["phase"] == "Succeeded"
    assert status["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    kubectl_ok(
        server, home, "patch", "pod", "held", "-n", ns, "--type=merge", "-p",
        '{"metadata":{"finalizers":null}}',
    )  # fmt: skip
    poll(
        lambda: run_kubectl(server, home, "get", "pod", "held", "-n", ns).returncode != 0,
        what="the pod is gone",
    )


@pytest.mark.parametrize(
    ("code", "phase", "shown"), [(0, "Succeeded", "Completed"), (3, "Failed", "Error")]
)
def test_exit_code_annotation_ends_the_pod(
    server: CorralServer, home: Path, ns: str, code: int, phase: str, shown: str
) -> None:
    annotations = {
        "corral.io/simulate-exit-code": str(code),
        "corral.io/simulate-run-seconds": "0.5",
    }
    make_pod(server, home, ns, "job", restart="Never", annotations=annotations)

    def ended() -> dict[str, Any] | None:
        status: dict[str, Any] = get_json(server, home, "pod", "job", "-n", ns)["status"]
        return status if status.get("phase") in ("Succeeded", "Failed") else None

    status = poll(ended, what="the pod ends")
    assert status["phase"] == phase
    term = status["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == code
    assert term["reason"] == shown
    row = kubectl_ok(server, home, "get", "pod", "job", "-n", ns).splitlines()[1].split()
    assert row[2] == shown
