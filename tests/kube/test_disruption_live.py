"""PodDisruptionBudgets and evictions on a real server, with the real kubectl.

One server per module; the disruption controller runs in the test process
(`controllerthread`) over HTTP. The test plays the kubelet (pods get an IP
and a Ready condition through ``pods/status``). A budget's status is
computed (integer and percentage ``minAvailable``, ``maxUnavailable`` from
the owning ReplicaSet's scale); an eviction within it deletes the pod and
spends the budget, one beyond it is 429 with Kubernetes' message and
``DisruptionBudget`` cause; ``kubectl drain`` evicts through the same path
and stops at the budget.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from controllerthread import server_with_controllers
from corral.kube import disruption
from kubectlproc import kubectl_ok, run_kubectl
from polling import poll
from serverproc import CorralServer

Obj = dict[str, Any]
CORE = "/api/v1"
POLICY = "/apis/policy/v1"


server = server_with_controllers("pdb", [disruption.build])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def http(server: CorralServer) -> Iterator[httpx.Client]:
    with server.client(server.token) as client:
        yield client


def apply(server: CorralServer, home: Path, ns: str, *docs: Obj) -> None:
    body = {"apiVersion": "v1", "kind": "List", "items": list(docs)}
    kubectl_ok(server, home, "apply", "-n", ns, "-f", "-", stdin=json.dumps(body))


def pod_body(name: str, app: str, node: str = "node-1", owner: Obj | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": {"app": app}}
    if owner is not None:
        meta["ownerReferences"] = [owner]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"containers": [{"name": "main", "image": "nginx"}], "nodeName": node},
    }


def make_ready(http: httpx.Client, ns: str, name: str, ip: str) -> None:
    status = {
        "phase": "Running",
        "podIP": ip,
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    response = http.patch(
        f"{CORE}/namespaces/{ns}/pods/{name}/status",
        json={"status": status},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text


def pdb_body(name: str, app: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": app}}, **spec},
    }


def pdb_status(http: httpx.Client, ns: str, name: str) -> Obj:
    response = http.get(f"{POLICY}/namespaces/{ns}/poddisruptionbudgets/{name}")
    assert response.status_code == 200, response.text
    status: Obj = response.json().get("status") or {}
    return status


def wait_status(http: httpx.Client, ns: str, name: str, **want: Any) -> Obj:
    def matches() -> Obj | None:
        status = pdb_status(http, ns, name)
        return status if all(status.get(k) == v for k, v in want.items()) else None

    found: Obj = poll(matches, f"{name} status {want}")
    return found


def evict(http: httpx.Client, ns: str, name: str, **options: Any) -> httpx.Response:
    body: Obj = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}}
    if options:
        body["deleteOptions"] = options
    return http.post(f"{CORE}/namespaces/{ns}/pods/{name}/eviction", json=body)


def pod_exists(http: httpx.Client, ns: str, name: str) -> bool:
    return http.get(f"{CORE}/namespaces/{ns}/pods/{name}").status_code == 200


def test_status_and_evictions_within_and_beyond_the_budget(
    server: CorralServer, home: Path, http: httpx.Client
) -> None:
    ns = "budget-ns"
    kubectl_ok(server, home, "create", "namespace", ns)
    apply(server, home, ns, *(pod_body(f"w{i}", "web") for i in range(3)))
    for i in range(3):
        make_ready(http, ns, f"w{i}", f"10.42.0.{i + 1}")
    apply(server, home, ns, pdb_body("web", "web", minAvailable=2))
    status = wait_status(http, ns, "web", disruptionsAllowed=1, currentHealthy=3)
    assert status["expectedPods"] == 3
    assert status["desiredHealthy"] == 2
    assert status["observedGeneration"] == 1
    condition = next(c for c in status["conditions"] if c["type"] == "DisruptionAllowed")
    assert (condition["status"], condition["reason"]) == ("True", "SufficientPods")
    shown = kubectl_ok(server, home, "get", "-n", ns, "pdb", "web")
    assert shown.split("\n")[1].split()[:4] == ["web", "2", "N/A", "1"]

    # Within the budget: the pod goes (gracefully: it is bound) and the budget is spent.
    allowed = evict(http, ns, "w0")
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["status"] == "Success"
    deleting = http.get(f"{CORE}/namespaces/{ns}/pods/w0").json()
    assert deleting["metadata"].get("deletionTimestamp")
    spent = pdb_status(http, ns, "web")
    assert spent["disruptionsAllowed"] == 0
    # The eviction recorded the pod, unless the controller has already seen it deleting.
    assert "w0" in (spent.get("disruptedPods") or {}) or spent["currentHealthy"] == 2

    # Beyond it: 429, nothing deleted.
    refused = evict(http, ns, "w1")
    assert refused.status_code == 429, refused.text
    answer = refused.json()
    assert answer["reason"] == "TooManyRequests"
    assert answer["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    # "has N currently" is the budget's status.currentHealthy: 3 until the
    # controller has recounted after the first eviction, then 2 (Kubernetes
    # words it from the status too).
    [cause] = answer["details"]["causes"]
    assert cause["reason"] == "DisruptionBudget"
    assert cause["message"] in {
        f"The disruption budget web needs 2 healthy pods and has {n} currently" for n in (2, 3)
    }
    assert (
        not http.get(f"{CORE}/namespaces/{ns}/pods/w1").json()["metadata"].get("deletionTimestamp")
    )
    status = wait_status(http, ns, "web", currentHealthy=2, disruptionsAllowed=0)
    condition = next(c for c in status["conditions"] if c["type"] == "DisruptionAllowed")
    assert (condition["status"], condition["reason"]) == ("False", "InsufficientPods")

    # A dry run checks and changes nothing; a pod no budget covers is simply deleted.
    apply(server, home, ns, pod_body("loner", "none", node=""))
    assert evict(http, ns, "loner", dryRun=["All"]).status_code == 201
    assert pod_exists(http, ns, "loner")
    assert evict(http, ns, "loner").status_code == 201
    poll(lambda: not pod_exists(http, ns, "loner"), "unbudgeted pod deleted")
    assert evict(http, ns, "nothing").status_code == 404


def test_scale_from_the_owning_controller(
    server: CorralServer, home: Path, http: httpx.Client
) -> None:
    ns = "scale-ns"
    kubectl_ok(server, home, "create", "namespace", ns)
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "api"},
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": "api"}},
            "template": {
                "metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [{"name": "main", "image": "nginx"}]},
            },
        },
    }
    apply(server, home, ns, rs)
    uid = json.loads(kubectl_ok(server, home, "get", "-n", ns, "rs", "api", "-o", "json"))[
        "metadata"
    ]["uid"]
    owner = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "api",
        "uid": uid,
        "controller": True,
    }
    apply(server, home, ns, *(pod_body(f"a{i}", "api", owner=owner) for i in range(3)))
    for i in range(3):
        make_ready(http, ns, f"a{i}", f"10.42.1.{i + 1}")
    apply(
        server,
        home,
        ns,
        pdb_body("api-max", "api", maxUnavailable=1),
        pdb_body("api-pct", "api", minAvailable="50%"),
    )
    wait_status(http, ns, "api-max", expectedPods=4, desiredHealthy=3, disruptionsAllowed=0)
    wait_status(http, ns, "api-pct", expectedPods=4, desiredHealthy=2, disruptionsAllowed=1)
    # Two budgets cover these pods: the eviction subresource refuses, as Kubernetes does.
    both = evict(http, ns, "a0")
    assert both.status_code == 500
    assert "more than one PodDisruptionBudget" in both.json()["message"]


def test_kubectl_drain_evicts_within_the_budget(
    server: CorralServer, home: Path, http: httpx.Client
) -> None:
    ns = "drain-ns"
    suffix = uuid.uuid4().hex[:6]
    first, second = f"drain-a-{suffix}", f"drain-b-{suffix}"
    for node in (first, second):
        kubectl_ok(
            server,
            home,
            "apply",
            "-f",
            "-",
            stdin=json.dumps({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node}}),
        )
    kubectl_ok(server, home, "create", "namespace", ns)
    pods = [
        pod_body("d0", "drain", node=first),
        pod_body("d1", "drain", node=first),
        pod_body("d2", "drain", node=second),
    ]
    apply(server, home, ns, *pods)
    for i in range(3):
        make_ready(http, ns, f"d{i}", f"10.42.2.{i + 1}")
    apply(server, home, ns, pdb_body("drain", "drain", minAvailable=1))
    wait_status(http, ns, "drain", disruptionsAllowed=2)
    drained = run_kubectl(
        server, home, "drain", first, "--force", "--grace-period=0", "--timeout=30s"
    )
    assert drained.returncode == 0, drained.stderr
    assert "evicting pod drain-ns/d0" in drained.stdout + drained.stderr
    assert not pod_exists(http, ns, "d0")
    assert not pod_exists(http, ns, "d1")
    node = json.loads(kubectl_ok(server, home, "get", "node", first, "-o", "json"))
    assert node["spec"]["unschedulable"] is True
    wait_status(http, ns, "drain", currentHealthy=1, disruptionsAllowed=0)
    blocked = run_kubectl(
        server, home, "drain", second, "--force", "--grace-period=0", "--timeout=3s"
    )
    assert blocked.returncode != 0
    assert "Cannot evict pod as it would violate the pod's disruption budget." in (
        blocked.stdout + blocked.stderr
    )
    assert pod_exists(http, ns, "d2")
