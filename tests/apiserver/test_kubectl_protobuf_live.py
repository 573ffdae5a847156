"""kubectl's typed ``create`` commands against a real ``corral server``.

kubectl 1.32 sends the bodies of ``kubectl create namespace|configmap|secret|
deployment|…`` as Kubernetes protobuf (``application/vnd.kubernetes.protobuf``)
and reads JSON answers. These tests run the real kubectl with default flags and
check what a user sees: the commands succeed, the stored objects read back as
the JSON Kubernetes would show (server defaults applied, no empty strings or
zero timestamps left over from protobuf), and an invalid object gets the same
422 a JSON body gets.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from corral.apiserver.registry.builtin import builtin_types
from corral.machinery.protobuf import builtin_tables
from kubectlproc import get_json, kubectl_ok, run_kubectl
from serverproc import CorralServer, module_server

PROTOBUF = "application/vnd.kubernetes.protobuf"
ZERO_TIME = "0001-01-01T00:00:00Z"
# Maps whose values may legitimately be empty strings.
_FREE_MAPS = {"data", "labels", "annotations", "matchLabels", "selector", "stringData"}


server = module_server("protobuf")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def shop(server: CorralServer, home: Path) -> str:
    """A namespace made with ``kubectl create namespace`` (a protobuf body)."""
    done = run_kubectl(server, home, "create", "namespace", "shop", "-v=8")
    assert done.returncode == 0, done.stderr
    assert f"Content-Type: {PROTOBUF}" in done.stderr
    assert "namespace/shop created" in done.stdout
    return "shop"


def artifacts(value: Any, path: str = "") -> list[str]:
    """Where ``value`` holds an empty string, a null or a zero time outside free-form maps.

    (A pod template's ``creationTimestamp: null`` is what Kubernetes shows too.)
    """
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if path.rsplit(".", 1)[-1] in _FREE_MAPS and isinstance(item, str):
                continue
            found += artifacts(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += artifacts(item, f"{path}[{i}]")
    elif value in ("", ZERO_TIME) or (value is None and not path.endswith(".creationTimestamp")):
        found.append(f"{path}={value!r}")
    return found


def test_create_namespace(server: CorralServer, home: Path, shop: str) -> None:
    ns = get_json(server, home, "namespace", shop)
    assert ns["status"] == {"phase": "Active"}
    assert ns["metadata"]["creationTimestamp"] != ZERO_TIME
    assert artifacts(ns) == []


def test_create_configmap_from_literals(server: CorralServer, home: Path, shop: str) -> None:
    kubectl_ok(
        server,
        home,
        *("create", "configmap", "settings", "-n", shop),
        *("--from-literal=color=blue", "--from-literal=empty="),
    )
    cm = get_json(server, home, "configmap", "settings", "-n", shop)
    assert cm["data"] == {"color": "blue", "empty": ""}
    assert artifacts(cm) == []


def test_create_secret_generic(server: CorralServer, home: Path, shop: str) -> None:
    kubectl_ok(
        server, home, "create", "secret", "generic", "db", "-n", shop, "--from-literal=pw=hunter2"
    )
    secret = get_json(server, home, "secret", "db", "-n", shop)
    assert base64.b64decode(secret["data"]["pw"]) == b"hunter2"
    assert secret["type"] == "Opaque"
    assert artifacts(secret) == []


def test_create_deployment(server: CorralServer, home: Path, shop: str) -> None:
    out = kubectl_ok(
        server, home, "create", "deployment", "web", "--image=nginx", "--replicas=2", "-n", shop
    )
    assert "deployment.apps/web created" in out
    deploy = get_json(server, home, "deployment", "web", "-n", shop)
    spec = deploy["spec"]
    assert spec["replicas"] == 2
    assert spec["selector"] == {"matchLabels": {"app": "web"}}
    assert spec["strategy"]["type"] == "RollingUpdate"
    container = spec["template"]["spec"]["containers"][0]
    assert (container["name"], container["image"]) == ("nginx", "nginx")
    assert container["resources"] == {}
    assert "paused" not in spec
    assert "minReadySeconds" not in spec
    assert "creationTimestamp" not in spec["template"]["metadata"]
    assert artifacts(deploy) == []


def test_create_deployment_dry_run_shows_server_defaults(
    server: CorralServer, home: Path, shop: str
) -> None:
    out = kubectl_ok(
        server,
        home,
        *("create", "deployment", "preview", "--image=nginx", "-n", shop),
        *("--dry-run=server", "-o", "yaml"),
    )
    spec = yaml.safe_load(out)["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Always"
    assert pod["containers"][0]["imagePullPolicy"] == "Always"
    missing = run_kubectl(server, home, "get", "deployment", "preview", "-n", shop)
    assert "NotFound" in missing.stderr


def test_create_service_clusterip(server: CorralServer, home: Path, shop: str) -> None:
    kubectl_ok(server, home, "create", "service", "clusterip", "web", "--tcp=80:8080", "-n", shop)
    svc = get_json(server, home, "service", "web", "-n", shop)
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["selector"] == {"app": "web"}
    assert svc["spec"]["ports"] == [
        {"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}
    ]
    assert artifacts(svc) == []


def test_create_serviceaccount_role_and_rolebinding(
    server: CorralServer, home: Path, shop: str
) -> None:
    kubectl_ok(server, home, "create", "serviceaccount", "robot", "-n", shop)
    kubectl_ok(
        server, home, "create", "role", "reader", "--verb=get,list", "--resource=pods", "-n", shop
    )
    kubectl_ok(
        server,
        home,
        *("create", "rolebinding", "robot-reads", "--role=reader"),
        *("--serviceaccount=shop:robot", "-n", shop),
    )
    assert get_json(server, home, "serviceaccount", "robot", "-n", shop)["metadata"]["name"]
    role = get_json(server, home, "role", "reader", "-n", shop)
    # The core group is the empty string: kept inside a list.
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
    binding = get_json(server, home, "rolebinding", "robot-reads", "-n", shop)
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "reader",
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "robot", "namespace": shop}]
    assert artifacts(binding) == []


def test_create_clusterrole(server: CorralServer, home: Path) -> None:
    kubectl_ok(
        server, home, "create", "clusterrole", "node-reader", "--verb=get", "--resource=nodes"
    )
    role = get_json(server, home, "clusterrole", "node-reader")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]


def test_create_job_and_cronjob(server: CorralServer, home: Path, shop: str) -> None:
    kubectl_ok(server, home, "create", "job", "once", "--image=busybox", "-n", shop, "--", "true")
    job = get_json(server, home, "job", "once", "-n", shop)
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["containers"][0]["command"] == ["true"]
    assert job["spec"]["backoffLimit"] == 6
    kubectl_ok(
        server,
        home,
        *("create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *"),
        *("-n", shop, "--", "true"),
    )
    cron = get_json(server, home, "cronjob", "tick", "-n", shop)
    assert cron["spec"]["schedule"] == "*/5 * * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Allow"
    assert artifacts(cron) == []


def test_create_quota(server: CorralServer, home: Path, shop: str) -> None:
    kubectl_ok(server, home, "create", "quota", "small", "--hard=pods=10,cpu=2", "-n", shop)
    quota = get_json(server, home, "resourcequota", "small", "-n", shop)
    assert quota["spec"]["hard"] == {"pods": "10", "cpu": "2"}


def test_create_poddisruptionbudget(server: CorralServer, home: Path, shop: str) -> None:
    kubectl_ok(
        server,
        home,
        *("create", "poddisruptionbudget", "web", "--selector=app=web"),
        *("--min-available=1", "-n", shop),
    )
    kubectl_ok(
        server,
        home,
        *("create", "poddisruptionbudget", "web-half", "--selector=app=web"),
        *("--max-unavailable=50%", "-n", shop),
    )
    assert get_json(server, home, "pdb", "web", "-n", shop)["spec"]["minAvailable"] == 1
    half = get_json(server, home, "pdb", "web-half", "-n", shop)
    assert half["spec"]["maxUnavailable"] == "50%"
    assert artifacts(half) == []


def test_create_ingress(server: CorralServer, home: Path, shop: str) -> None:
    kubectl_ok(
        server, home, "create", "ingress", "shop", "--rule=shop.example.com/*=web:80", "-n", shop
    )
    rule = get_json(server, home, "ingress", "shop", "-n", shop)["spec"]["rules"][0]
    assert rule["host"] == "shop.example.com"
    assert rule["http"]["paths"] == [
        {
            "path": "/",
            "pathType": "Prefix",
            "backend": {"service": {"name": "web", "port": {"number": 80}}},
        }
    ]


def test_an_invalid_object_gets_the_same_error_as_a_json_body(
    server: CorralServer, home: Path, shop: str
) -> None:
    typed = run_kubectl(server, home, "create", "deployment", "BAD_NAME", "--image=x", "-n", shop)
    assert typed.returncode != 0
    manifest = kubectl_ok(
        server,
        home,
        *("create", "deployment", "BAD_NAME", "--image=x", "-n", shop),
        *("--dry-run=client", "-o", "json"),
    )
    as_json = run_kubectl(server, home, "create", "-f", "-", stdin=manifest)
    assert as_json.returncode != 0
    # kubectl words the two failures differently around the server's message.
    assert 'Deployment.apps "BAD_NAME" is invalid: metadata.name:' in typed.stderr
    field_error = 'metadata.name: Invalid value: "BAD_NAME": a lowercase RFC 1123 subdomain'
    assert field_error in typed.stderr
    assert _from(field_error, typed.stderr) == _from(field_error, as_json.stderr)


def _from(start: str, text: str) -> str:
    return text[text.index(start) :].strip()


def _field(number: int, payload: bytes | int) -> bytes:
    """One protobuf field: a varint for an int, else length-delimited bytes."""
    if isinstance(payload, int):
        assert 0 <= payload < 0x80
        return bytes([number << 3, payload])
    assert len(payload) < 0x80
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_a_protobuf_scale_update_changes_the_replicas(
    server: CorralServer, home: Path, shop: str
) -> None:
    kubectl_ok(server, home, "create", "deployment", "scaled", "--image=nginx", "-n", shop)
    scale = _field(1, _field(1, b"scaled") + _field(3, shop.encode())) + _field(2, _field(1, 3))
    type_meta = _field(1, b"autoscaling/v1") + _field(2, b"Scale")
    body = b"k8s\x00" + _field(1, type_meta) + _field(2, scale)
    path = f"/apis/apps/v1/namespaces/{shop}/deployments/scaled/scale"
    with server.client(server.token) as client:
        answer = client.put(path, content=body, headers={"Content-Type": PROTOBUF})
    assert answer.status_code == 200, answer.text
    assert answer.json()["spec"] == {"replicas": 3}
    assert get_json(server, home, "deployment", "scaled", "-n", shop)["spec"]["replicas"] == 3


def test_a_protobuf_delete_options_body_is_honoured(server: CorralServer, shop: str) -> None:
    # DeleteOptions{preconditions: {uid: "not-the-uid"}} in the protobuf envelope.
    body = b"k8s\x00" + _field(2, _field(2, _field(1, b"not-the-uid")))
    path = f"/api/v1/namespaces/{shop}/configmaps/settings"
    with server.client(server.token) as client:
        answer = client.request("DELETE", path, content=body, headers={"Content-Type": PROTOBUF})
        assert answer.status_code == 409, answer.text
        assert "Precondition failed: UID in precondition: not-the-uid" in answer.json()["message"]
        assert client.get(path).status_code == 200


def test_other_body_types_are_415_listing_protobuf(server: CorralServer, shop: str) -> None:
    with server.client(server.token) as client:
        answer = client.post(
            f"/api/v1/namespaces/{shop}/configmaps",
            content=b"\xa0",
            headers={"Content-Type": "application/cbor"},
        )
    assert answer.status_code == 415
    assert PROTOBUF in answer.json()["message"]


def test_every_built_in_kind_has_a_protobuf_table() -> None:
    """Any typed client can send any served built-in kind (CRDs are JSON only)."""
    tables = builtin_tables()
    missing = [
        f"{t.group}/{t.version} {t.kind}"
        for t in builtin_types()
        if t.group != "apiextensions.k8s.io"
        and tables.message_for(f"{t.group}/{t.version}".lstrip("/"), t.kind) is None
    ]
    assert missing == []
