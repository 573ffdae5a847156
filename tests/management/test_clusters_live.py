"""Clusters against a real server: kinds, registration tokens, settings, import manifests.

One management server (``--server-url`` given, an audit log on) for the
module; a downstream ``corral server --no-management`` for the test that
applies an import manifest with the real kubectl.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kubectlproc import get_json, kubectl_ok, run_kubectl
from polling import poll
from serverproc import CorralServer, running_server

API = "/apis/management.corral.io/v1"
CLUSTERS = f"{API}/clusters"
FIRST_URL = "https://corral.example.test:8443"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorralServer]:
    root = tmp_path_factory.mktemp("clusters")
    args = ["--server-url", FIRST_URL, "--audit-log-path", str(root / "audit.log")]
    with running_server(root / "data", args) as srv:
        yield srv


@pytest.fixture
def admin(server: CorralServer) -> Iterator[httpx.Client]:
    with server.client(server.token) as http:
        yield http


def new_cluster(http: httpx.Client, display_name: str, **meta: Any) -> dict[str, Any]:
    body = {
        "apiVersion": "management.corral.io/v1",
        "kind": "Cluster",
        "metadata": {"generateName": "c-", **meta},
        "spec": {"displayName": display_name},
    }
    made = http.post(CLUSTERS, json=body)
    assert made.status_code == 201, made.text
    cluster: dict[str, Any] = made.json()
    return cluster


def registered(http: httpx.Client, cluster_id: str, server_url: str = "") -> dict[str, Any]:
    """The cluster once its import commands (for ``server_url``, if given) are in its status."""

    def check() -> dict[str, Any] | None:
        cluster: dict[str, Any] = http.get(f"{CLUSTERS}/{cluster_id}").json()
        command = ((cluster.get("status") or {}).get("registration") or {}).get("command", "")
        return cluster if command and server_url in command else None

    found: dict[str, Any] = poll(check, f"import commands of {cluster_id}")
    return found


def token_of(http: httpx.Client, cluster_id: str) -> dict[str, Any]:
    answer = http.get(f"{API}/namespaces/{cluster_id}/clusterregistrationtokens/default-token")
    assert answer.status_code == 200, answer.text
    token: dict[str, Any] = answer.json()
    return token


def causes(answer: httpx.Response) -> list[str]:
    return [c.get("field", "") for c in answer.json().get("details", {}).get("causes", [])]


def set_server_url(http: httpx.Client, value: str) -> httpx.Response:
    return http.patch(
        f"{API}/settings/server-url",
        content=json.dumps({"value": value}),
        headers={"Content-Type": "application/merge-patch+json"},
    )


def test_local_cluster_is_there_and_kubectl_shows_the_columns(
    server: CorralServer, admin: httpx.Client, tmp_path: Path
) -> None:
    def active() -> dict[str, Any] | None:
        answer = admin.get(f"{CLUSTERS}/local")
        if answer.status_code != 200:  # the controller has not made it yet
            return None
        local: dict[str, Any] = answer.json()
        return local if (local.get("status") or {}).get("state") == "active" else None

    local = poll(active, "the local cluster")
    assert local["spec"] == {
        "displayName": "local",
        "description": "the Corral server itself",
        "internal": True,
    }
    connected = {c["type"]: c for c in local["status"]["conditions"]}
    assert connected["Connected"]["status"] == "True"
    assert connected["Connected"]["reason"] == "Local"
    assert connected["Ready"]["status"] == "True"
    assert connected["Connected"]["lastUpdateTime"].endswith("Z")
    table = kubectl_ok(server, tmp_path, "get", "clusters")
    header = table.splitlines()[0].split()
    assert header == ["NAME", "DISPLAY", "NAME", "STATE", "VERSION", "NODES", "AGE"]
    assert any(line.split()[:3] == ["local", "local", "active"] for line in table.splitlines())


def test_a_new_cluster_gets_namespace_token_commands_and_its_creator(
    server: CorralServer, admin: httpx.Client, tmp_path: Path
) -> None:
    made = new_cluster(admin, "first", annotations={"corral.io/creator-id": "mallory"})
    cluster_id = made["metadata"]["name"]
    assert cluster_id.startswith("c-")
    assert len(cluster_id) == 7
    assert made["metadata"]["annotations"]["corral.io/creator-id"] == "admin"
    cluster = registered(admin, cluster_id)
    assert "management.corral.io/cluster-cleanup" in cluster["metadata"]["finalizers"]
    assert cluster["status"]["state"] == "pending"
    conditions = {c["type"]: c for c in cluster["status"]["conditions"]}
    assert conditions["Connected"]["status"] == "False"
    assert conditions["Connected"]["reason"] == "NeverConnected"
    namespace = get_json(server, tmp_path, "namespace", cluster_id)
    assert namespace["metadata"]["labels"]["corral.io/cluster-id"] == cluster_id
    token = token_of(admin, cluster_id)
    secret = token["status"]["token"]
    assert len(secret) == 54
    assert secret.isalnum()
    assert secret == secret.lower()
    assert token["spec"]["clusterName"] == cluster_id
    checksum = hashlib.sha256(server.ca_path.read_bytes()).hexdigest()
    url = f"{FIRST_URL}/v3/import/{secret}_{cluster_id}.yaml"
    assert cluster["status"]["registration"] == {
        "manifestUrl": url,
        "command": f"kubectl apply -f {url}",
        "agentCommand": (
            f"corral agent --server {FIRST_URL} --token {secret} --ca-checksum {checksum}"
        ),
    }
    assert {k: v for k, v in token["status"].items() if k != "token"} == (
        cluster["status"]["registration"]
    )
    # the creator stays what the server set, whatever an update says
    changed = admin.patch(
        f"{CLUSTERS}/{cluster_id}",
        content=json.dumps({"metadata": {"annotations": {"corral.io/creator-id": "mallory"}}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["metadata"]["annotations"]["corral.io/creator-id"] == "admin"


def test_cacerts_is_public_and_its_checksum_is_the_ca_file(server: CorralServer) -> None:
    with server.client() as anonymous:
        answer = anonymous.get("/v3/settings/cacerts")
        assert answer.status_code == 200
        body = answer.json()
        assert {k: body[k] for k in ("type", "id", "name")} == {
            "type": "setting",
            "id": "cacerts",
            "name": "cacerts",
        }
        assert body["value"].encode() == server.ca_path.read_bytes()
        assert anonymous.get("/v3/settings/server-url").status_code == 401
    with server.client(server.token) as http:
        answer = http.get("/v3/settings/server-url")
        assert answer.json()["value"] == FIRST_URL
        assert http.get("/v3/settings/agent-image").json()["default"].startswith("corral/corral:")
        assert http.get("/v3/settings/nothing").status_code == 404


def test_commands_follow_the_server_url_setting(server: CorralServer, admin: httpx.Client) -> None:
    cluster_id = new_cluster(admin, "follows")["metadata"]["name"]
    registered(admin, cluster_id, FIRST_URL)
    for bad, problem in [
        ("http://corral.example.test", "https"),
        ("https://corral.example.test/path", "path"),
        ("https://corral.example.test/?a=b", "query"),
        ("https://user:pw@corral.example.test", "user info"),
    ]:
        refused = set_server_url(admin, bad)
        assert refused.status_code == 422, refused.text
        assert causes(refused) == ["value"]
        assert problem in refused.json()["message"]
    second = "https://second.example.test:9443"
    assert set_server_url(admin, second + "/").status_code == 200
    try:
        cluster = registered(admin, cluster_id, second)
        secret = token_of(admin, cluster_id)["status"]["token"]
        assert cluster["status"]["registration"]["manifestUrl"] == (
            f"{second}/v3/import/{secret}_{cluster_id}.yaml"
        )
        assert token_of(admin, cluster_id)["status"]["command"].startswith(
            f"kubectl apply -f {second}/v3/import/"
        )
    finally:
        assert set_server_url(admin, FIRST_URL).status_code == 200
    registered(admin, cluster_id, FIRST_URL)


def test_bad_clusters_are_refused_naming_the_field(admin: httpx.Client) -> None:
    new_cluster(admin, "unique")
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"metadata": {"generateName": "c-"}, "spec": {"displayName": "unique"}},
            "spec.displayName",
        ),
        ({"metadata": {"generateName": "c-"}, "spec": {}}, "spec.displayName"),
        (
            {"metadata": {"generateName": "c-"}, "spec": {"displayName": "x" * 64}},
            "spec.displayName",
        ),
        ({"metadata": {"generateName": "c-"}}, "spec"),
        ({"metadata": {"name": "local"}, "spec": {"displayName": "mine"}}, "metadata.name"),
        ({"metadata": {"name": "prod"}, "spec": {"displayName": "prod"}}, "metadata.name"),
        (
            {"metadata": {"generateName": "c-"}, "spec": {"displayName": "i", "internal": True}},
            "spec.internal",
        ),
    ]
    for body, field in cases:
        answer = admin.post(
            CLUSTERS, json={"apiVersion": "management.corral.io/v1", "kind": "Cluster", **body}
        )
        assert answer.status_code == 422, (body, answer.text)
        assert field in causes(answer), (body, answer.text)
    duplicate = admin.post(
        CLUSTERS,
        json={
            "apiVersion": "management.corral.io/v1",
            "kind": "Cluster",
            "metadata": {"generateName": "c-"},
            "spec": {"displayName": "unique"},
        },
    )
    assert "Duplicate value" in duplicate.json()["message"]


def test_import_manifest_needs_the_right_token_for_the_right_cluster(
    server: CorralServer, admin: httpx.Client
) -> None:
    one = new_cluster(admin, "import-one")["metadata"]["name"]
    two = new_cluster(admin, "import-two")["metadata"]["name"]
    registered(admin, one)
    registered(admin, two)
    secret = token_of(admin, one)["status"]["token"]
    with server.client() as anonymous:
        good = anonymous.get(f"/v3/import/{secret}_{one}.yaml")
        assert good.status_code == 200
        assert good.headers["content-type"].startswith("application/yaml")
        refusals = [
            anonymous.get(f"/v3/import/{secret}_{two}.yaml"),
            anonymous.get(f"/v3/import/{'a' * 54}_{one}.yaml"),
            anonymous.get(f"/v3/import/{secret[:-1]}_{one}.yaml"),
            anonymous.get(f"/v3/import/{secret}.yaml"),
            anonymous.get(f"/v3/import/{secret}_c-nothing.yaml"),
        ]
    assert {r.status_code for r in refusals} == {404}
    assert len({r.text for r in refusals}) == 1  # nothing says which part was wrong
    docs = list(yaml.safe_load_all(good.text))
    kinds = [(d["kind"], d["metadata"]["name"]) for d in docs]
    assert kinds == [
        ("Namespace", "corral-system"),
        ("ServiceAccount", "corral-agent"),
        ("ClusterRole", "corral-agent"),
        ("ClusterRoleBinding", "corral-agent"),
        ("Secret", "corral-agent-token"),
        ("Secret", "corral-credentials"),
        ("Deployment", "corral-agent"),
    ]
    credentials = docs[5]["stringData"]
    checksum = hashlib.sha256(server.ca_path.read_bytes()).hexdigest()
    assert credentials == {"url": FIRST_URL, "token": secret, "ca-checksum": checksum}
    assert docs[4]["type"] == "kubernetes.io/service-account-token"
    container = docs[6]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].startswith("corral/corral:")
    assert container["args"] == ["agent"]
    assert secret not in json.dumps(docs[6])  # the token reaches the pod only through the Secret


def test_the_import_token_never_reaches_logs_or_audit(
    server: CorralServer, admin: httpx.Client
) -> None:
    cluster_id = new_cluster(admin, "redacted")["metadata"]["name"]
    registered(admin, cluster_id)
    secret = token_of(admin, cluster_id)["status"]["token"]
    with server.client() as anonymous:
        assert anonymous.get(f"/v3/import/{secret}_{cluster_id}.yaml").status_code == 200
        assert anonymous.get(f"/v3/import/{secret}x_{cluster_id}.yaml").status_code == 404
    shown = f"/v3/import/<redacted>_{cluster_id}.yaml"
    audit = server.data_dir.parent / "audit.log"

    def recorded() -> bool:
        return audit.read_text().count(f'"requestURI":"{shown}"') >= 2

    poll(recorded, "the audit records of the import")
    poll(lambda: server.stderr().count(f"path={shown}") >= 2, "the access log lines")
    assert secret not in audit.read_text()
    assert secret not in server.stderr()


def test_deleting_a_cluster_removes_its_token_namespace_and_credentials(
    server: CorralServer, admin: httpx.Client, tmp_path: Path
) -> None:
    cluster_id = new_cluster(admin, "short-lived")["metadata"]["name"]
    registered(admin, cluster_id)
    secret = token_of(admin, cluster_id)["status"]["token"]
    credentials = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "cluster-agent", "namespace": cluster_id},
        "type": "corral.io/cluster-agent",
        "stringData": {"address": "https://10.0.0.1:6443", "caCert": "", "token": "t"},
    }
    made = admin.post(f"/api/v1/namespaces/{cluster_id}/secrets", json=credentials)
    assert made.status_code == 201, made.text
    assert admin.delete(f"{CLUSTERS}/{cluster_id}").status_code == 200
    poll(lambda: admin.get(f"{CLUSTERS}/{cluster_id}").status_code == 404, "the cluster gone")
    token = admin.get(f"{API}/namespaces/{cluster_id}/clusterregistrationtokens/default-token")
    assert token.status_code == 404
    assert admin.get(f"/api/v1/namespaces/{cluster_id}/secrets/cluster-agent").status_code == 404
    namespace = admin.get(f"/api/v1/namespaces/{cluster_id}")
    # without the namespace controller (off in these tests) it stays Terminating
    assert namespace.status_code == 404 or namespace.json()["metadata"].get("deletionTimestamp")
    with server.client() as anonymous:
        gone = anonymous.get(f"/v3/import/{secret}_{cluster_id}.yaml")
    assert gone.status_code == 404
    assert run_kubectl(server, tmp_path, "get", "cluster", cluster_id).returncode == 1


def test_the_manifest_applies_cleanly_to_a_plain_cluster(
    server: CorralServer, admin: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> None:
    cluster_id = new_cluster(admin, "downstream")["metadata"]["name"]
    registered(admin, cluster_id)
    secret = token_of(admin, cluster_id)["status"]["token"]
    with server.client() as anonymous:
        manifest = anonymous.get(f"/v3/import/{secret}_{cluster_id}.yaml").text
    root = tmp_path_factory.mktemp("downstream")
    path = root / "import.yaml"
    path.write_text(manifest)
    with running_server(root / "data", ["--no-management"]) as downstream:
        applied = kubectl_ok(downstream, root, "apply", "-f", str(path))
        for line in (
            "namespace/corral-system created",
            "serviceaccount/corral-agent created",
            "clusterrole.rbac.authorization.k8s.io/corral-agent created",
            "clusterrolebinding.rbac.authorization.k8s.io/corral-agent created",
            "secret/corral-agent-token created",
            "secret/corral-credentials created",
            "deployment.apps/corral-agent created",
        ):
            assert line in applied
        ns = ["-n", "corral-system"]
        stored = get_json(downstream, root, "secret", "corral-credentials", *ns)
        assert stored["data"]["url"]  # base64 of the server URL, as applied
        deployment = get_json(downstream, root, "deployment", "corral-agent", *ns)
        assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "corral-agent"
        role = get_json(downstream, root, "clusterrole", "corral-agent")
        impersonate = [r for r in role["rules"] if "impersonate" in r["verbs"]]
        assert impersonate
        assert set(impersonate[0]["resources"]) == {"users", "groups"}
        again = kubectl_ok(downstream, root, "apply", "-f", str(path))
        assert "deployment.apps/corral-agent unchanged" in again


def test_server_url_is_kept_across_restarts_unless_the_flag_says_otherwise(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"

    def stored(srv: CorralServer) -> str:
        with srv.client(srv.token) as http:
            value: str = poll(
                lambda: http.get("/v3/settings/server-url").json().get("value"), "server-url"
            )
            return value

    with running_server(data, ["--server-url", "https://one.example.test"]) as srv:
        assert stored(srv) == "https://one.example.test"
    with running_server(data) as srv:
        assert stored(srv) == "https://one.example.test"
        with srv.client(srv.token) as http:
            assert set_server_url(http, "https://edited.example.test").status_code == 200
            cacerts = http.get("/v3/settings/cacerts").json()["value"]
        assert cacerts.encode() == srv.ca_path.read_bytes()
    with running_server(data) as srv:
        assert stored(srv) == "https://edited.example.test"
    with running_server(data, ["--server-url", "https://two.example.test"]) as srv:
        assert stored(srv) == "https://two.example.test"
