"""The everyday kubectl workflow against a real ``corral server``, default flags.

kubectl validates manifests by default (``--validate=strict``): it reads
``/openapi/v3`` to learn that the server validates fields, then sends
``fieldValidation=Strict``. These tests drive the real kubectl through
create, get, explain, apply, patch, label, annotate, watch, describe and
delete, as a user would, and check what the user sees.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from kubectlproc import kubectl_argv, kubectl_env, kubectl_ok, run_kubectl
from serverproc import CorralServer, module_server

MANIFESTS = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  color: blue
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
        resources:
          requests: {cpu: 100m, memory: 64Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports:
  - name: http
    port: 80
    targetPort: 8080
"""


server = module_server("manifests")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def manifests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("files") / "shop.yaml"
    path.write_text(MANIFESTS)
    return path


def test_create_a_multi_document_file(server: CorralServer, home: Path, manifests: Path) -> None:
    out = kubectl_ok(server, home, "create", "-f", str(manifests))
    assert out.split("\n")[:4] == [
        "namespace/shop created",
        "configmap/settings created",
        "deployment.apps/web created",
        "service/web created",
    ]


def test_get_as_table_yaml_json_and_jsonpath(server: CorralServer, home: Path) -> None:
    table = kubectl_ok(server, home, "get", "deployments", "-n", "shop")
    header, row = table.splitlines()[:2]
    assert header.split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert row.split()[:2] == ["web", "0/2"]
    services = kubectl_ok(server, home, "get", "svc", "-n", "shop").splitlines()
    assert services[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert "80/TCP" in services[1]
    as_yaml = kubectl_ok(server, home, "get", "deploy", "web", "-n", "shop", "-o", "yaml")
    assert "strategy:" in as_yaml  # Kubernetes' defaults were applied
    assert "maxSurge: 25%" in as_yaml
    as_json = json.loads(
        kubectl_ok(server, home, "get", "cm", "settings", "-n", "shop", "-o", "json")
    )
    assert as_json["data"] == {"color": "blue"}
    image = kubectl_ok(
        server,
        home,
        "get",
        "deploy",
        "web",
        "-n",
        "shop",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    )
    assert image == "nginx:1.27"
    target = kubectl_ok(
        server,
        home,
        "get",
        "svc",
        "web",
        "-n",
        "shop",
        "-o",
        "jsonpath={.spec.ports[0].targetPort}",
    )
    assert target == "8080"


def test_explain_a_built_in_field(server: CorralServer, home: Path) -> None:
    out = kubectl_ok(server, home, "explain", "deployment.spec.strategy.rollingUpdate.maxSurge")
    assert "KIND:       Deployment" in out
    assert "maxSurge" in out
    assert "IntOrString" in out or "<Object>" in out or "int-or-string" in out.lower()


def test_apply_updates_and_unchanged(server: CorralServer, home: Path, manifests: Path) -> None:
    changed = manifests.with_name("shop-3.yaml")
    changed.write_text(MANIFESTS.replace("replicas: 2", "replicas: 3"))
    out = kubectl_ok(server, home, "apply", "-f", str(changed))
    assert "deployment.apps/web configured" in out
    again = kubectl_ok(server, home, "apply", "-f", str(changed))
    assert "deployment.apps/web unchanged" in again
    replicas = kubectl_ok(
        server, home, "get", "deploy", "web", "-n", "shop", "-o", "jsonpath={.spec.replicas}"
    )
    assert replicas == "3"


def test_apply_of_an_unknown_field_is_refused_naming_it(
    server: CorralServer, home: Path, manifests: Path
) -> None:
    bad = manifests.with_name("shop-bad.yaml")
    bad.write_text(MANIFESTS.replace("  replicas: 2\n", "  replicas: 2\n  replicaz: 2\n"))
    done = run_kubectl(server, home, "apply", "-f", str(bad))
    assert done.returncode != 0
    assert 'unknown field "spec.replicaz"' in done.stderr
    fresh = manifests.with_name("fresh-bad.yaml")
    fresh.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  namespace: shop\n"
        "datta:\n  a: b\n"
    )
    created = run_kubectl(server, home, "create", "-f", str(fresh))
    assert created.returncode != 0
    assert 'unknown field "datta"' in created.stderr
    assert run_kubectl(server, home, "get", "cm", "other", "-n", "shop").returncode != 0


def test_a_bad_quantity_is_invalid_naming_the_field(
    server: CorralServer, home: Path, manifests: Path
) -> None:
    bad = manifests.with_name("shop-cpu.yaml")
    bad.write_text(MANIFESTS.replace("cpu: 100m", "cpu: lots"))
    done = run_kubectl(server, home, "apply", "-f", str(bad))
    assert done.returncode != 0
    assert "spec.template.spec.containers[0].resources.requests[cpu]" in done.stderr
    assert "quantities must match" in done.stderr


def test_label_annotate_and_every_patch_type(server: CorralServer, home: Path) -> None:
    kubectl_ok(server, home, "label", "cm", "settings", "-n", "shop", "tier=backend")
    kubectl_ok(server, home, "annotate", "cm", "settings", "-n", "shop", "owner=team-a")
    kubectl_ok(
        server,
        home,
        "patch",
        "cm",
        "settings",
        "-n",
        "shop",
        "--type=merge",
        "-p",
        '{"data":{"size":"L"}}',
    )
    kubectl_ok(
        server,
        home,
        "patch",
        "cm",
        "settings",
        "-n",
        "shop",
        "--type=json",
        "-p",
        '[{"op":"replace","path":"/data/color","value":"green"}]',
    )
    kubectl_ok(
        server,
        home,
        "patch",
        "deploy",
        "web",
        "-n",
        "shop",
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.28"}]}}}}',
    )
    cm = json.loads(kubectl_ok(server, home, "get", "cm", "settings", "-n", "shop", "-o", "json"))
    assert cm["metadata"]["labels"] == {"tier": "backend"}
    assert cm["metadata"]["annotations"]["owner"] == "team-a"
    assert cm["data"] == {"color": "green", "size": "L"}
    deploy = json.loads(
        kubectl_ok(server, home, "get", "deploy", "web", "-n", "shop", "-o", "json")
    )
    containers = deploy["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("web", "nginx:1.28")]
    assert containers[0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]  # merged by name
    assert deploy["metadata"]["generation"] == 3  # replicas, then the image: spec changes only
    assert (
        len(kubectl_ok(server, home, "get", "cm", "-n", "shop", "-l", "tier=backend", "-o", "name"))
        > 0
    )


def test_get_watch_receives_a_change(server: CorralServer, home: Path) -> None:
    env = kubectl_env(home)
    cmd = kubectl_argv(server, "get", "cm", "settings")
    watcher = subprocess.Popen(
        [
            *cmd,
            "-n",
            "shop",
            "-w",
            "--output-watch-events",
            "-o",
            'jsonpath={.type} {.object.data.mood}{"\\n"}',
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert watcher.stdout is not None
        first = watcher.stdout.readline()
        assert first.startswith("ADDED")
        kubectl_ok(
            server, home, "patch", "cm", "settings", "-n", "shop", "-p", '{"data":{"mood":"happy"}}'
        )
        deadline = time.monotonic() + 20
        line = ""
        while time.monotonic() < deadline and "happy" not in line:
            line = watcher.stdout.readline()
        assert line.split() == ["MODIFIED", "happy"]
    finally:
        watcher.kill()
        watcher.wait()


def test_describe(server: CorralServer, home: Path) -> None:
    deploy = kubectl_ok(server, home, "describe", "deployment", "web", "-n", "shop")
    assert "Name:" in deploy
    assert "web" in deploy
    assert "RollingUpdate" in deploy
    cm = kubectl_ok(server, home, "describe", "configmap", "settings", "-n", "shop")
    assert "color" in cm


def test_delete_returns_when_gone(server: CorralServer, home: Path, manifests: Path) -> None:
    kubectl_ok(server, home, "delete", "deployment", "web", "-n", "shop")
    gone = run_kubectl(server, home, "get", "deployment", "web", "-n", "shop")
    assert gone.returncode != 0
    assert 'deployments.apps "web" not found' in gone.stderr
