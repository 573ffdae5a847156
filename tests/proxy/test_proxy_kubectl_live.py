"""The real kubectl through ``/k8s/clusters/<id>`` of a real management server.

Topology (`topology`): a downstream ``corral server --no-management`` with
an audit log, imported by a ``corral agent`` process whose tunnel carries
every proxied request; ``alice`` may use the cluster, ``bob`` may not. What a user notices: the
objects, the messages, and — in the downstream audit log — who the cluster
believes made each request.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubectlproc import KUBECTL, kubectl_env
from polling import eventually
from proxy.topology import Topology, topology

AGENT = "system:serviceaccount:corral-system:corral-agent"


@pytest.fixture(scope="module")
def topo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    yield from topology(tmp_path_factory.mktemp("proxy-kubectl"))


def kubectl(
    topo: Topology, home: Path, user: str, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    config = topo.kubeconfig(home / f"{user}.kubeconfig", user)
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(config), *args],
        capture_output=True,
        text=True,
        env=kubectl_env(home),
        input=stdin or None,
        timeout=60,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def events_for(topo: Topology, marker: str) -> list[dict[str, Any]]:
    return [
        e
        for e in topo.audit_events()
        if marker in e.get("requestURI", "") or (e.get("objectRef") or {}).get("name") == marker
    ]


async def test_get_apply_delete_as_the_corral_user(topo: Topology, tmp_path: Path) -> None:
    names = json.loads(ok(kubectl(topo, tmp_path, "alice", "get", "namespaces", "-o", "json")))
    listed = {item["metadata"]["name"] for item in names["items"]}
    # The downstream cluster's namespaces, not the management server's.
    assert "corral-system" in listed
    assert topo.cluster not in listed

    name = "cm-" + uuid.uuid4().hex[:8]
    manifest = json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}
    )
    assert "created" in ok(kubectl(topo, tmp_path, "alice", "apply", "-f", "-", stdin=manifest))
    got = json.loads(ok(kubectl(topo, tmp_path, "alice", "get", "configmap", name, "-o", "json")))
    assert got["data"] == {"k": "v"}
    with topo.downstream.client(topo.downstream.token) as http:
        direct = http.get(f"/api/v1/namespaces/default/configmaps/{name}")
    assert direct.json()["metadata"]["uid"] == got["metadata"]["uid"]
    assert "deleted" in ok(kubectl(topo, tmp_path, "alice", "delete", "configmap", name))

    def recorded() -> bool:
        return any(e["verb"] == "delete" for e in events_for(topo, name))

    await eventually(recorded, "the delete in the downstream audit log", deadline=10)
    proxied = [e for e in events_for(topo, name) if e["user"]["username"] != "admin"]
    assert {e["verb"] for e in proxied} >= {"get", "delete"}
    for event in proxied:
        assert event["user"]["username"] == AGENT
        assert event["impersonatedUser"]["username"] == "alice"
        assert set(event["impersonatedUser"]["groups"]) == {"system:authenticated", "corral:local"}


def test_watch_streams_through(topo: Topology, tmp_path: Path) -> None:
    name = "w-" + uuid.uuid4().hex[:8]
    config = topo.kubeconfig(tmp_path / "alice.kubeconfig", "alice")
    watch = subprocess.Popen(
        [KUBECTL, "--kubeconfig", str(config), "get", "configmaps", "-w", "-o", "name"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kubectl_env(tmp_path),
    )
    try:
        ok(kubectl(topo, tmp_path, "alice", "create", "configmap", name))
        assert watch.stdout is not None
        seen: list[str] = []
        for line in watch.stdout:  # the watch prints the new object while it streams
            seen.append(line.strip())
            if line.strip() == f"configmap/{name}":
                break
        assert f"configmap/{name}" in seen
    finally:
        watch.kill()
        watch.wait()


async def test_logs_and_exec_through_the_proxy(topo: Topology, tmp_path: Path) -> None:
    nodes = json.loads(ok(kubectl(topo, tmp_path, "alice", "get", "nodes", "-o", "json")))
    node = nodes["items"][0]["metadata"]["name"]
    name = "p-" + uuid.uuid4().hex[:8]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]},
    }
    ok(kubectl(topo, tmp_path, "alice", "apply", "-f", "-", stdin=json.dumps(pod)))

    def running() -> bool:
        done = kubectl(topo, tmp_path, "alice", "get", "pod", name, "-o", "json")
        return done.returncode == 0 and json.loads(done.stdout)["status"].get("phase") == "Running"

    await eventually(running, "the pod running on its simulated node", deadline=30)
    logs = kubectl(topo, tmp_path, "alice", "logs", name)
    assert logs.returncode == 0, logs.stderr
    assert f"simulated container c of pod default/{name}: line 1" in logs.stdout
    assert any(e["objectRef"].get("subresource") == "log" for e in events_for(topo, name))

    # kubectl 1.32 execs over WebSocket; the downstream Corral server serves only
    # watches over WebSocket and refuses the upgrade (400), which reaches kubectl;
    # kubectl then falls back to SPDY, which the proxy refuses, saying so.
    done = kubectl(topo, tmp_path, "alice", "exec", name, "--", "true")
    assert done.returncode != 0
    assert "SPDY upgrades are not supported through Corral's cluster proxy" in done.stderr
    upgrades = [e for e in events_for(topo, name) if e["objectRef"].get("subresource") == "exec"]
    assert upgrades
    assert upgrades[0]["impersonatedUser"]["username"] == "alice"


async def test_exec_answer_of_the_cluster_is_relayed(topo: Topology, tmp_path: Path) -> None:
    done = kubectl(topo, tmp_path, "alice", "exec", "no-such-pod", "--", "true")
    assert done.returncode != 0
    assert 'pods "no-such-pod" not found' in done.stderr


async def test_as_someone_else_is_refused(topo: Topology, tmp_path: Path) -> None:
    before = len(topo.audit_events())
    done = kubectl(topo, tmp_path, "alice", "--as", "bob", "get", "namespaces")
    assert done.returncode != 0
    # kubectl words a refused discovery as "Forbidden: unknown"; the Status says why.
    assert "Forbidden" in done.stderr
    with topo.management.client(topo.tokens["alice"]) as http:
        refused = http.get(
            f"/k8s/clusters/{topo.cluster}/api/v1/namespaces", headers={"Impersonate-User": "bob"}
        )
        assert refused.status_code == 403
        assert 'User "alice" cannot impersonate resource "users"' in refused.json()["message"]
        refused = http.get(
            f"/k8s/clusters/{topo.cluster}/api/v1/namespaces",
            headers={"Impersonate-User": "alice", "Impersonate-Group": "system:masters"},
        )
        assert refused.status_code == 403
        assert "cannot impersonate resource" in refused.json()["message"]
    assert not [e for e in topo.audit_events()[before:] if "bob" in json.dumps(e)]


async def test_admin_may_act_as_alice(topo: Topology, tmp_path: Path) -> None:
    """Corral's admin may impersonate: the impersonated Corral user goes downstream."""
    name = "as-" + uuid.uuid4().hex[:8]
    with topo.management.client(topo.management.token) as http:
        made = http.post(
            f"/k8s/clusters/{topo.cluster}/api/v1/namespaces/default/configmaps",
            json={"metadata": {"name": name}},
            headers={"Impersonate-User": "alice", "User-Agent": f"as-test/{name}"},
        )
    assert made.status_code == 201, made.text

    def mine() -> list[dict[str, Any]]:
        return [e for e in topo.audit_events() if e.get("userAgent") == f"as-test/{name}"]

    await eventually(mine, "the create in the downstream audit log", deadline=10)
    (event,) = mine()
    assert event["impersonatedUser"]["username"] == "alice"
    assert event["impersonatedUser"]["groups"] == ["system:authenticated"]


async def test_unknown_cluster_is_404_for_those_who_may_use_clusters(topo: Topology) -> None:
    with topo.management.client(topo.tokens["alice"]) as http:
        missing = http.get("/k8s/clusters/c-nosuch/api/v1/namespaces")
    assert missing.status_code == 404
    assert missing.json()["message"] == 'clusters.management.corral.io "c-nosuch" not found'


async def test_a_user_who_may_not_use_the_cluster_is_refused(
    topo: Topology, tmp_path: Path
) -> None:
    before = len(topo.audit_events())
    done = kubectl(topo, tmp_path, "bob", "get", "namespaces")
    assert done.returncode != 0
    assert "Forbidden" in done.stderr
    with topo.management.client(topo.tokens["bob"]) as http:
        for cluster in (topo.cluster, "c-nosuch"):  # existing or not: the same answer
            refused = http.get(f"/k8s/clusters/{cluster}/api/v1/namespaces")
            assert refused.status_code == 403
            assert refused.json()["message"] == (
                f'forbidden: User "bob" cannot use cluster "{cluster}"'
            )
    # Nothing reached the downstream cluster for bob.
    assert not [
        e
        for e in topo.audit_events()[before:]
        if (e.get("impersonatedUser") or {}).get("username") == "bob"
    ]
