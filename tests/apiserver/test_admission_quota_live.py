"""ResourceQuota on a real server, through the real kubectl.

One server per module; the resource quota controller runs in the test
process (`controllerthread`) against it over HTTP and keeps
``status.used``. A namespace quota refuses the object that would exceed it
with Kubernetes' message naming the quota, refuses pods that leave out a
quota'd request, charges creates at admission so concurrent creates cannot
overshoot, and follows deletions; a dry run charges nothing.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from controllerthread import server_with_controllers
from corral.kube import resourcequota
from kubectlproc import kubectl_argv, kubectl_env, kubectl_ok, run_kubectl
from polling import poll
from serverproc import CorralServer

Obj = dict[str, Any]


server = server_with_controllers("quota", [resourcequota.build])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


def quota_used(server: CorralServer, home: Path, ns: str, name: str) -> dict[str, str]:
    out = kubectl_ok(server, home, "get", "-n", ns, "resourcequota", name, "-o", "json")
    used: dict[str, str] = (json.loads(out).get("status") or {}).get("used") or {}
    return used


def wait_used(server: CorralServer, home: Path, ns: str, name: str, want: dict[str, str]) -> None:
    poll(lambda: quota_used(server, home, ns, name) == want, f"{name} used == {want}")


def pod_yaml(name: str, cpu: str = "", memory: str = "") -> str:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    container: Obj = {"name": "app", "image": "nginx"}
    if requests:
        container["resources"] = {"requests": requests}
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"containers": [container]},
        }
    )


def test_quota_refuses_what_would_exceed_it(server: CorralServer, home: Path) -> None:
    ns = "compute-ns"
    kubectl_ok(server, home, "create", "namespace", ns)
    kubectl_ok(
        server,
        home,
        "create",
        "quota",
        "compute",
        "-n",
        ns,
        "--hard=requests.cpu=2,requests.memory=1Gi,pods=3",
    )
    wait_used(
        server, home, ns, "compute", {"pods": "0", "requests.cpu": "0", "requests.memory": "0"}
    )
    kubectl_ok(server, home, "apply", "-n", ns, "-f", "-", stdin=pod_yaml("p1", "1", "256Mi"))
    # Charged at admission, before the controller recounts.
    assert quota_used(server, home, ns, "compute") == {
        "pods": "1",
        "requests.cpu": "1",
        "requests.memory": "256Mi",
    }
    refused = run_kubectl(
        server, home, "apply", "-n", ns, "-f", "-", stdin=pod_yaml("p2", "2", "256Mi")
    )
    assert refused.returncode != 0
    assert (
        'pods "p2" is forbidden: exceeded quota: compute, requested: requests.cpu=2, '
        "used: requests.cpu=1, limited: requests.cpu=2"
    ) in refused.stderr
    bare = run_kubectl(server, home, "apply", "-n", ns, "-f", "-", stdin=pod_yaml("p3"))
    assert bare.returncode != 0
    assert (
        'pods "p3" is forbidden: failed quota: compute: must specify '
        "requests.cpu for: app; requests.memory for: app"
    ) in bare.stderr
    kubectl_ok(server, home, "apply", "-n", ns, "-f", "-", stdin=pod_yaml("p4", "500m", "512Mi"))
    wait_used(
        server,
        home,
        ns,
        "compute",
        {"pods": "2", "requests.cpu": "1500m", "requests.memory": "768Mi"},
    )
    described = kubectl_ok(server, home, "describe", "-n", ns, "quota", "compute")
    assert "requests.cpu" in described
    assert "1500m" in described
    # Deleting a pod gives its share back (the controller recounts).
    kubectl_ok(server, home, "delete", "-n", ns, "pod", "p1", "--wait=false")
    wait_used(
        server,
        home,
        ns,
        "compute",
        {"pods": "1", "requests.cpu": "500m", "requests.memory": "512Mi"},
    )
    kubectl_ok(server, home, "apply", "-n", ns, "-f", "-", stdin=pod_yaml("p2", "1500m", "256Mi"))


def test_concurrent_creates_cannot_overshoot(server: CorralServer, home: Path) -> None:
    ns = "burst-ns"
    kubectl_ok(server, home, "create", "namespace", ns)
    kubectl_ok(server, home, "create", "quota", "objects", "-n", ns, "--hard=count/configmaps=5")
    wait_used(server, home, ns, "objects", {"count/configmaps": "0"})
    procs = [
        subprocess.Popen(
            kubectl_argv(server, "create", "configmap", f"c{i}", "-n", ns, "--from-literal=k=v"),
            env=kubectl_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(12)
    ]
    results = [(p.communicate(timeout=60)[1], p.returncode) for p in procs]
    accepted = [err for err, code in results if code == 0]
    refused = [err for err, code in results if code != 0]
    assert len(accepted) == 5
    assert len(refused) == 7
    assert all("exceeded quota: objects" in err for err in refused)
    listed = json.loads(kubectl_ok(server, home, "get", "-n", ns, "configmaps", "-o", "json"))
    assert len(listed["items"]) == 5
    wait_used(server, home, ns, "objects", {"count/configmaps": "5"})


def test_services_and_node_ports(server: CorralServer, home: Path) -> None:
    ns = "svc-ns"
    kubectl_ok(server, home, "create", "namespace", ns)
    kubectl_ok(
        server, home, "create", "quota", "svc", "-n", ns, "--hard=services=2,services.nodeports=1"
    )
    wait_used(server, home, ns, "svc", {"services": "0", "services.nodeports": "0"})
    kubectl_ok(server, home, "create", "service", "nodeport", "a", "--tcp=80:80", "-n", ns)
    refused = run_kubectl(
        server, home, "create", "service", "nodeport", "b", "--tcp=80:80", "-n", ns
    )
    assert refused.returncode != 0
    assert (
        "exceeded quota: svc, requested: services.nodeports=1, used: services.nodeports=1, "
        "limited: services.nodeports=1"
    ) in refused.stderr
    kubectl_ok(server, home, "create", "service", "clusterip", "c", "--tcp=80:80", "-n", ns)
    wait_used(server, home, ns, "svc", {"services": "2", "services.nodeports": "1"})


def test_dry_run_charges_nothing(server: CorralServer, home: Path) -> None:
    ns = "dry-ns"
    kubectl_ok(server, home, "create", "namespace", ns)
    kubectl_ok(server, home, "create", "quota", "one", "-n", ns, "--hard=pods=1")
    wait_used(server, home, ns, "one", {"pods": "0"})
    kubectl_ok(server, home, "apply", "--dry-run=server", "-n", ns, "-f", "-", stdin=pod_yaml("a"))
    assert quota_used(server, home, ns, "one") == {"pods": "0"}
    kubectl_ok(server, home, "apply", "-n", ns, "-f", "-", stdin=pod_yaml("a"))
    refused = run_kubectl(server, home, "apply", "-n", ns, "-f", "-", stdin=pod_yaml("b"))
    assert "exceeded quota: one, requested: pods=1, used: pods=1, limited: pods=1" in refused.stderr
