"""kubectl commands that need controllers and pods, against a real ``corral server``.

The server runs every built-in controller and two simulated nodes, so
Deployments become ReplicaSets and running pods: ``wait
--for=condition=Available``, ``rollout history`` (with ``--revision``) and
``wait --for=delete`` of a running pod are checked on what they report and on
the objects behind it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kubectlproc import get_json, get_json_or_none, kubectl_argv, kubectl_env, kubectl_ok
from polling import poll
from serverproc import CorralServer, controller_args, module_server

ARGS = controller_args("*", "--simulate-nodes", "2")
ENV = {"CORRAL_SIM_STATUS_INTERVAL": "1", "CORRAL_SIM_POD_START_DELAY": "0.2"}

server = module_server("kubectl-workloads", ARGS, ENV)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kubectl-home")


def test_wait_for_condition_available(server: CorralServer, home: Path) -> None:
    kubectl_ok(server, home, "create", "deployment", "avail", "--image=nginx:1.27", "--replicas=2")
    out = kubectl_ok(
        server, home, "wait", "--for=condition=Available", "deployment/avail", "--timeout=60s"
    )
    assert out.strip() == "deployment.apps/avail condition met"
    status = get_json(server, home, "deployment", "avail")["status"]
    assert status["availableReplicas"] == 2
    available = [c for c in status["conditions"] if c["type"] == "Available"]
    assert available[0]["status"] == "True"


def test_rollout_history_and_revision(server: CorralServer, home: Path) -> None:
    kubectl_ok(server, home, "create", "deployment", "hist", "--image=nginx:1.0")
    kubectl_ok(server, home, "rollout", "status", "deployment/hist", "--timeout=60s")
    kubectl_ok(server, home, "set", "image", "deployment/hist", "nginx=nginx:2.0")
    kubectl_ok(
        server,
        home,
        "annotate",
        "deployment/hist",
        "kubernetes.io/change-cause=upgrade to 2.0",
    )
    kubectl_ok(server, home, "rollout", "status", "deployment/hist", "--timeout=60s")

    def two_revisions() -> bool:
        sets = get_json(server, home, "replicasets", "-l", "app=hist")["items"]
        revisions = {
            s["metadata"]["annotations"].get("deployment.kubernetes.io/revision") for s in sets
        }
        return revisions == {"1", "2"}

    poll(two_revisions, deadline=60, interval=0.2, what="two revisions")
    history = kubectl_ok(server, home, "rollout", "history", "deployment/hist")
    rows = [line.split(None, 1) for line in history.strip().splitlines()[1:]]
    assert rows[0] == ["REVISION", "CHANGE-CAUSE"]
    assert [r[0] for r in rows[1:]] == ["1", "2"]
    revision = kubectl_ok(server, home, "rollout", "history", "deployment/hist", "--revision=1")
    assert revision.startswith("deployment.apps/hist with revision #1")
    assert ["Image:", "nginx:1.0"] in [line.split() for line in revision.splitlines()]
    latest = kubectl_ok(server, home, "rollout", "history", "deployment/hist", "--revision=2")
    assert latest.startswith("deployment.apps/hist with revision #2")
    assert ["Image:", "nginx:2.0"] in [line.split() for line in latest.splitlines()]


def test_wait_for_delete_of_a_running_pod(server: CorralServer, home: Path) -> None:
    kubectl_ok(server, home, "run", "doomed", "--image=busybox", "--restart=Never")
    kubectl_ok(server, home, "wait", "--for=condition=Ready", "pod/doomed", "--timeout=60s")
    waiter = subprocess.Popen(
        kubectl_argv(server, "wait", "--for=delete", "pod/doomed", "--timeout=60s"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kubectl_env(home),
    )
    try:
        kubectl_ok(server, home, "delete", "pod", "doomed", "--wait=false")
        out, err = waiter.communicate(timeout=70)
    finally:
        waiter.kill()
    assert waiter.returncode == 0, err
    assert out.strip() == "pod/doomed condition met"
    assert get_json_or_none(server, home, "pod", "doomed") is None
