"""A Corral cluster end to end, as a kubectl user drives it.

One real ``corral server`` with every built-in controller and three
simulated nodes; nothing here acts as a kubelet or a controller. Deployments
roll out through ReplicaSets, the scheduler and the simulated nodes; logs
stream; deletes cascade; a node that stops heartbeating turns NotReady and
its pods come back elsewhere.
"""

from __future__ import annotations

import json
import subprocess
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from kubectlproc import get_json, kubectl_argv, kubectl_env, kubectl_ok, run_kubectl
from polling import poll
from serverproc import CorralServer, controller_args, module_server

NODES = 3
ARGS = controller_args("*", "--simulate-nodes", str(NODES), "--node-monitor-grace-period", "3s")
ENV = {
    "CORRAL_SIM_LEASE_RENEW": "0.5",
    "CORRAL_SIM_STATUS_INTERVAL": "1",
    "CORRAL_SIM_POD_START_DELAY": "0.2",
    "CORRAL_SIM_LOG_INTERVAL": "0.1",
}


server = module_server("e2e", ARGS, ENV)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kubectl-home")


def kubectl(server: CorralServer, home: Path, *args: str, stdin: str = "") -> str:
    return kubectl_ok(server, home, *args, stdin=stdin)


eventually = partial(poll, deadline=60, interval=0.2)


def pods(server: CorralServer, home: Path, selector: str, ns: str = "default") -> list[Any]:
    items: list[Any] = get_json(server, home, "pods", "-n", ns, "-l", selector)["items"]
    return items


def running(pod: Any) -> bool:
    conditions = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}
    return bool(pod["status"].get("phase") == "Running" and conditions.get("Ready") == "True")


def test_nodes_are_ready(server: CorralServer, home: Path) -> None:
    def all_ready() -> bool:
        nodes = get_json(server, home, "nodes")["items"]
        ready = [
            n
            for n in nodes
            if any(
                c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"]
            )
        ]
        return len(ready) == NODES

    eventually(all_ready, what="simulated nodes Ready")


def test_a_deployment_rolls_out_scales_changes_image_and_rolls_back(
    server: CorralServer, home: Path
) -> None:
    kubectl(server, home, "create", "deployment", "web", "--image=nginx:1.0", "--replicas=3")
    kubectl(server, home, "rollout", "status", "deployment/web", "--timeout=60s")
    first = pods(server, home, "app=web")
    assert len(first) == 3
    assert all(running(p) for p in first)
    assert {p["spec"]["nodeName"] for p in first} <= {f"corral-sim-{i}" for i in range(NODES)}
    assert all(p["status"].get("podIP") for p in first)

    kubectl(server, home, "scale", "deployment/web", "--replicas=5")
    kubectl(server, home, "rollout", "status", "deployment/web", "--timeout=60s")
    assert sum(running(p) for p in pods(server, home, "app=web")) == 5

    kubectl(server, home, "set", "image", "deployment/web", "nginx=nginx:2.0")
    kubectl(server, home, "rollout", "status", "deployment/web", "--timeout=60s")
    sets = get_json(server, home, "replicasets", "-l", "app=web")["items"]
    assert len(sets) == 2
    assert sorted(rs["spec"]["replicas"] for rs in sets) == [0, 5]
    eventually(
        lambda: (
            {c["image"] for p in pods(server, home, "app=web") for c in p["spec"]["containers"]}
            == {"nginx:2.0"}
        ),
        what="old pods gone",
    )
    history = kubectl(server, home, "rollout", "history", "deployment/web")
    assert "1" in history
    assert "2" in history

    kubectl(server, home, "rollout", "undo", "deployment/web")
    kubectl(server, home, "rollout", "status", "deployment/web", "--timeout=60s")
    deployment = get_json(server, home, "deployment", "web")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.0"
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert deployment["status"]["availableReplicas"] == 5


def test_logs_follow_a_running_pod(server: CorralServer, home: Path) -> None:
    name = next(p["metadata"]["name"] for p in pods(server, home, "app=web") if running(p))
    tail = kubectl(server, home, "logs", name, "--tail=2")
    assert len(tail.splitlines()) == 2
    follow = subprocess.Popen(
        kubectl_argv(server, "logs", "-f", name),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kubectl_env(home),
    )
    try:
        assert follow.stdout is not None
        lines = [follow.stdout.readline() for _ in range(3)]
        assert all(name in line for line in lines), lines
    finally:
        follow.kill()
        follow.wait()
    refused = run_kubectl(server, home, "exec", name, "--", "true")
    assert refused.returncode != 0
    assert "simulated" in refused.stderr


def test_deleting_a_deployment_takes_its_replicasets_and_pods(
    server: CorralServer, home: Path
) -> None:
    kubectl(server, home, "delete", "deployment", "web")
    eventually(
        lambda: (
            not get_json(server, home, "replicasets", "-l", "app=web")["items"]
            and not pods(server, home, "app=web")
        ),
        what="replicasets and pods of web gone",
    )


def test_deleting_a_namespace_empties_it_then_removes_it(server: CorralServer, home: Path) -> None:
    kubectl(server, home, "create", "namespace", "team")
    kubectl(
        server, home, "create", "deployment", "api", "-n", "team", "--image=x:1", "--replicas=2"
    )
    kubectl(server, home, "create", "configmap", "settings", "-n", "team", "--from-literal=a=b")
    kubectl(server, home, "rollout", "status", "deployment/api", "-n", "team", "--timeout=60s")
    kubectl(server, home, "delete", "namespace", "team", "--timeout=60s")
    gone = run_kubectl(server, home, "get", "namespace", "team")
    assert gone.returncode != 0
    assert "NotFound" in gone.stderr


def test_a_node_that_stops_heartbeating_turns_not_ready_and_its_pods_move(
    server: CorralServer, home: Path
) -> None:
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "spread", "namespace": "default"},
        "spec": {
            "replicas": 6,
            "selector": {"matchLabels": {"app": "spread"}},
            "template": {
                "metadata": {"labels": {"app": "spread"}},
                "spec": {
                    "containers": [{"name": "app", "image": "app:1"}],
                    # Evicted 1 s after the node is unreachable (the default is 300 s).
                    "tolerations": [
                        {
                            "key": key,
                            "operator": "Exists",
                            "effect": "NoExecute",
                            "tolerationSeconds": 1,
                        }
                        for key in (
                            "node.kubernetes.io/unreachable",
                            "node.kubernetes.io/not-ready",
                        )
                    ],
                },
            },
        },
    }
    kubectl(server, home, "apply", "-f", "-", stdin=json.dumps(manifest))
    kubectl(server, home, "rollout", "status", "deployment/spread", "--timeout=60s")
    victim = pods(server, home, "app=spread")[0]["spec"]["nodeName"]

    kubectl(server, home, "annotate", "node", victim, "corral.io/simulate-heartbeat=stopped")
    try:

        def not_ready() -> bool:
            node = get_json(server, home, "node", victim)
            ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
            taints = {t["key"] for t in node["spec"].get("taints", [])}
            return bool(ready["status"] == "Unknown" and "node.kubernetes.io/unreachable" in taints)

        eventually(not_ready, what=f"{victim} NotReady with the unreachable taint")

        def moved() -> bool:
            now = pods(server, home, "app=spread")
            return (
                len(now) == 6
                and all(running(p) for p in now)
                and all(p["spec"]["nodeName"] != victim for p in now)
            )

        eventually(moved, what="pods rescheduled off the dead node")
    finally:
        kubectl(server, home, "annotate", "node", victim, "corral.io/simulate-heartbeat-")

    def recovered() -> bool:
        node = get_json(server, home, "node", victim)
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        return bool(ready["status"] == "True" and not node["spec"].get("taints"))

    eventually(recovered, what=f"{victim} Ready again")
