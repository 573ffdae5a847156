"""Who may create and use clusters, and the kubeconfigs they get, against a real server.

Users: ``alice`` (no rights beyond every user's), ``carol`` (a ClusterRole
letting her create and read clusters). The admin is the server's admin
token (group ``system:masters``) and the Corral user ``admin``.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kubectlproc import KUBECTL, kubectl_env
from serverproc import CorralServer, running_server

SERVER_URL = "https://corral.example.test"
API = "/apis/management.corral.io/v1"
CLUSTERS = f"{API}/clusters"
LOGIN = "/v3-public/localProviders/local?action=login"
PASSWORD = "correct-horse-battery"
GENERATE = "/v3/clusters?action=generateKubeconfig"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorralServer]:
    root = tmp_path_factory.mktemp("cluster-access")
    with running_server(root / "data", ["--server-url", SERVER_URL]) as srv:
        yield srv


def _user(http: httpx.Client, name: str) -> None:
    made = http.post(
        "/v3/users", json={"username": name, "password": PASSWORD, "mustChangePassword": False}
    )
    assert made.status_code == 201, made.text


@pytest.fixture(scope="module")
def tokens(server: CorralServer) -> dict[str, str]:
    with server.client(server.token) as http:
        _user(http, "alice")
        _user(http, "carol")
        role = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "cluster-creator"},
            "rules": [
                {
                    "apiGroups": ["management.corral.io"],
                    "resources": ["clusters"],
                    "verbs": ["create", "get", "list", "watch"],
                }
            ],
        }
        assert http.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", json=role).is_success
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "carol-creates-clusters"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-creator",
            },
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "carol"}
            ],
        }
        bound = http.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", json=binding)
        assert bound.is_success, bound.text
    found = {}
    with server.client() as anonymous:
        for name in ("alice", "carol"):
            login = anonymous.post(LOGIN, json={"username": name, "password": PASSWORD})
            assert login.status_code == 201, login.text
            found[name] = login.json()["token"]
    return found


def cluster_body(display_name: str) -> dict[str, Any]:
    return {
        "apiVersion": "management.corral.io/v1",
        "kind": "Cluster",
        "metadata": {"generateName": "c-"},
        "spec": {"displayName": display_name},
    }


def kubeconfig(http: httpx.Client, *clusters: str) -> dict[str, Any]:
    answer = http.post(GENERATE, json={"clusters": list(clusters)})
    assert answer.status_code == 200, answer.text
    doc: dict[str, Any] = yaml.safe_load(answer.json()["config"])
    return doc


def servers(doc: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["cluster"]["server"] for c in doc["clusters"]}


def test_only_users_rbac_allows_create_clusters(
    server: CorralServer, tokens: dict[str, str]
) -> None:
    with server.client(tokens["alice"]) as alice:
        refused = alice.post(CLUSTERS, json=cluster_body("alices"))
        assert refused.status_code == 403
        assert alice.get(CLUSTERS).status_code == 403
    with server.client(tokens["carol"]) as carol:
        made = carol.post(CLUSTERS, json=cluster_body("carols"))
        assert made.status_code == 201, made.text
        assert made.json()["metadata"]["annotations"]["corral.io/creator-id"] == "carol"
        names = [c["spec"]["displayName"] for c in carol.get(CLUSTERS).json()["items"]]
        assert "carols" in names
        # reading is not updating: carol may not change or delete clusters
        cluster_id = made.json()["metadata"]["name"]
        assert carol.delete(f"{CLUSTERS}/{cluster_id}").status_code == 403


def test_kubeconfigs_hold_the_clusters_each_user_may_use(
    server: CorralServer, tokens: dict[str, str]
) -> None:
    with server.client(server.token) as admin:
        admins = admin.post(CLUSTERS, json=cluster_body("admins"))
        assert admins.status_code == 201
        admins_id = admins.json()["metadata"]["name"]
    with server.client(tokens["carol"]) as carol:
        made = carol.post(CLUSTERS, json=cluster_body("carols-second"))
        carols_id = made.json()["metadata"]["name"]
        mine = kubeconfig(carol)
        assert set(servers(mine)) >= {"carols-second"}
        assert "admins" not in servers(mine)
        assert "local" not in servers(mine)
        by_name = kubeconfig(carol, "carols-second")
        assert servers(by_name) == {"carols-second": f"{SERVER_URL}/k8s/clusters/{carols_id}"}
        assert by_name["current-context"] == "carols-second"
        assert by_name["contexts"] == [
            {"name": "carols-second", "context": {"cluster": "carols-second", "user": "carol"}}
        ]
        other = carol.post(GENERATE.replace("/v3/clusters?", f"/v3/clusters/{admins_id}?"))
        assert other.status_code == 404
        assert carol.post(GENERATE, json={"clusters": "local"}).status_code == 422
    with server.client(tokens["alice"]) as alice:
        assert servers(kubeconfig(alice)) == {}
        assert alice.post(GENERATE, json={"clusters": [carols_id]}).status_code == 404
    with server.client(server.token) as admin:
        everything = servers(kubeconfig(admin))
        assert {"local", "admins", "carols-second"} <= set(everything)
        assert everything["local"] == f"{SERVER_URL}/k8s/clusters/local"


def test_a_kubeconfig_token_is_fresh_and_authenticates(
    server: CorralServer, tokens: dict[str, str], tmp_path: Path
) -> None:
    with server.client(tokens["carol"]) as carol:
        first = kubeconfig(carol, "carols")
        second = kubeconfig(carol, "carols")
        listed = carol.get("/v3/tokens").json()["data"]
    token = first["users"][0]["user"]["token"]
    assert token != second["users"][0]["user"]["token"]
    kinds = [t["tokenKind"] for t in listed]
    assert kinds.count("kubeconfig") >= 2
    ca = base64.b64decode(first["clusters"][0]["cluster"]["certificate-authority-data"])
    assert ca == server.ca_path.read_bytes()
    # until the proxy serves /k8s/clusters/<id>, point the cluster at the server's root
    first["clusters"][0]["cluster"]["server"] = server.https_url
    path = tmp_path / "carol.kubeconfig"
    path.write_text(yaml.safe_dump(first))
    done = subprocess.run(
        [KUBECTL, "--kubeconfig", str(path), "auth", "whoami", "-o", "json"],
        capture_output=True,
        text=True,
        env=kubectl_env(tmp_path),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"]["userInfo"]["username"] == "carol"


def test_system_identities_get_no_kubeconfig(server: CorralServer) -> None:
    with server.client(server.token) as admin:
        account = admin.post(
            "/api/v1/namespaces/default/serviceaccounts",
            json={"metadata": {"name": "robot"}},
        )
        assert account.status_code == 201
        issued = admin.post(
            "/api/v1/namespaces/default/serviceaccounts/robot/token",
            json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
        )
        assert issued.status_code == 201, issued.text
    with server.client(issued.json()["status"]["token"]) as robot:
        answer = robot.post(GENERATE, json={})
    assert answer.status_code == 403
    assert "only Corral users" in answer.json()["message"]


def test_the_kubeconfig_reaches_local_through_the_proxy(
    server: CorralServer, tmp_path: Path
) -> None:
    pytest.importorskip("corral.proxy", reason="the /k8s/clusters proxy is not in this tree yet")
    with server.client(server.token) as admin:
        _user(admin, "dave")
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "dave-is-admin"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "dave"}],
        }
        bound = admin.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", json=binding)
        assert bound.status_code == 201, bound.text
    with server.client() as anonymous:
        login = anonymous.post(LOGIN, json={"username": "dave", "password": PASSWORD})
    with server.client(login.json()["token"]) as dave:
        doc = kubeconfig(dave, "local")
    # the server-url of this test names no real host: the same path on the test's port
    cluster = doc["clusters"][0]["cluster"]
    assert cluster["server"] == f"{SERVER_URL}/k8s/clusters/local"
    cluster["server"] = cluster["server"].replace(SERVER_URL, server.https_url)
    path = tmp_path / "dave.kubeconfig"
    path.write_text(yaml.safe_dump(doc))

    def kubectl(*args: str) -> str:
        done = subprocess.run(
            [KUBECTL, "--kubeconfig", str(path), *args],
            capture_output=True,
            text=True,
            env=kubectl_env(tmp_path),
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert (
        json.loads(kubectl("auth", "whoami", "-o", "json"))["status"]["userInfo"]["username"]
        == "dave"
    )
    names = kubectl("get", "namespaces", "-o", "name").split()
    assert "namespace/kube-system" in names
