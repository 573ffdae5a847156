"""Server-side apply with the real kubectl and the official Python client.

kubectl ``apply --server-side`` creates, updates, meets a conflict with a
field ``kubectl scale`` took, forces it, and removes what a file no longer
says; ``kubectl get --show-managed-fields`` shows who owns what.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config, dynamic  # type: ignore[import-untyped]

from kubectlproc import get_json, kubectl_ok, run_kubectl
from serverproc import CorralServer, module_server

server = module_server("apply")

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels: {app: web, tier: front}
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
        env:
        - {name: MODE, value: fast}
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def managers(obj: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["manager"], e["operation"]): e for e in obj["metadata"].get("managedFields", [])}


def test_kubectl_server_side_apply_lifecycle(
    server: CorralServer, home: Path, tmp_path: Path
) -> None:
    manifest = write(tmp_path / "web.yaml", DEPLOYMENT)
    out = kubectl_ok(server, home, "apply", "--server-side", "-f", manifest)
    assert out.strip() == "deployment.apps/web serverside-applied"
    shown = yaml.safe_load(
        kubectl_ok(server, home, "get", "deploy", "web", "-o", "yaml", "--show-managed-fields")
    )
    applied = managers(shown)[("kubectl", "Apply")]
    assert applied["apiVersion"] == "apps/v1"
    spec = applied["fieldsV1"]["f:spec"]
    assert spec["f:replicas"] == {}
    env = spec["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']["f:env"]
    assert env == {'k:{"name":"MODE"}': {".": {}, "f:name": {}, "f:value": {}}}
    hidden = yaml.safe_load(kubectl_ok(server, home, "get", "deploy", "web", "-o", "yaml"))
    assert "managedFields" not in hidden["metadata"]

    # kubectl scale takes .spec.replicas; applying a different count now conflicts.
    kubectl_ok(server, home, "scale", "deploy", "web", "--replicas=4")
    scaled = get_json(server, home, "deploy", "web", "--show-managed-fields")
    scaler = [e for e in scaled["metadata"]["managedFields"] if e.get("subresource") == "scale"]
    assert [e["fieldsV1"] for e in scaler] == [{"f:spec": {"f:replicas": {}}}]
    refused = run_kubectl(server, home, "apply", "--server-side", "-f", manifest)
    assert refused.returncode != 0
    assert "Apply failed with 1 conflict" in refused.stderr
    assert 'with subresource "scale"' in refused.stderr
    assert ".spec.replicas" in refused.stderr
    assert get_json(server, home, "deploy", "web")["spec"]["replicas"] == 4

    kubectl_ok(server, home, "apply", "--server-side", "--force-conflicts", "-f", manifest)
    forced = get_json(server, home, "deploy", "web", "--show-managed-fields")
    assert forced["spec"]["replicas"] == 2
    assert not [e for e in forced["metadata"]["managedFields"] if e.get("subresource") == "scale"]

    # Dropping a label and the env var from the file removes them from the object.
    smaller = DEPLOYMENT.replace(", tier: front", "").replace(
        "        env:\n        - {name: MODE, value: fast}\n", ""
    )
    kubectl_ok(server, home, "apply", "--server-side", "-f", write(tmp_path / "web.yaml", smaller))
    after = get_json(server, home, "deploy", "web")
    assert after["metadata"]["labels"] == {"app": "web"}
    assert "env" not in after["spec"]["template"]["spec"]["containers"][0]


def test_a_field_set_by_kubectl_edit_style_patch_conflicts(
    server: CorralServer, home: Path, tmp_path: Path
) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: conf\n  namespace: default\n"
    manifest = write(tmp_path / "cm.yaml", cm + "data:\n  color: blue\n")
    kubectl_ok(server, home, "apply", "--server-side", "-f", manifest)
    kubectl_ok(server, home, "patch", "cm", "conf", "-p", '{"data":{"color":"red"}}')
    refused = run_kubectl(server, home, "apply", "--server-side", "-f", manifest)
    assert refused.returncode != 0
    assert 'conflict with "kubectl-patch" using v1: .data.color' in refused.stderr
    # Applying without the field gives it up; the patcher's value stays.
    kubectl_ok(server, home, "apply", "--server-side", "-f", write(tmp_path / "cm.yaml", cm))
    kept = get_json(server, home, "cm", "conf", "--show-managed-fields")
    assert kept["data"] == {"color": "red"}
    assert [(e["manager"], e["operation"]) for e in kept["metadata"]["managedFields"]] == [
        ("kubectl-patch", "Update")
    ]


def test_client_side_apply_records_its_manager(
    server: CorralServer, home: Path, tmp_path: Path
) -> None:
    manifest = write(
        tmp_path / "csa.yaml",
        DEPLOYMENT.replace("name: web\n  namespace", "name: csa\n  namespace"),
    )
    kubectl_ok(server, home, "apply", "-f", manifest)
    obj = get_json(server, home, "deploy", "csa", "--show-managed-fields")
    entry = managers(obj)[("kubectl-client-side-apply", "Update")]
    assert entry["fieldsV1"]["f:spec"]["f:replicas"] == {}
    annotations = entry["fieldsV1"]["f:metadata"]["f:annotations"]
    assert "f:kubectl.kubernetes.io/last-applied-configuration" in annotations


@pytest.fixture(scope="module")
def api(server: CorralServer) -> Iterator[Any]:
    api_client = config.new_client_from_config(config_file=str(server.kubeconfig_path))
    api_client.set_default_header("Connection", "close")
    yield api_client
    api_client.close()


def test_python_client_server_side_apply(api: Any) -> None:
    body = yaml.safe_load(DEPLOYMENT.replace("name: web\n  namespace", "name: py\n  namespace"))
    dyn = dynamic.DynamicClient(api)
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    created = deployments.server_side_apply(
        body=body, namespace="default", field_manager="py-apply"
    )
    assert created.spec.replicas == 2
    [entry] = created.metadata.managedFields
    assert (entry.manager, entry.operation) == ("py-apply", "Apply")
    assert "f:replicas" in created.to_dict()["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]
    typed = client.AppsV1Api(api).read_namespaced_deployment("py", "default")
    assert typed.metadata.managed_fields[0].fields_v1["f:spec"]["f:replicas"] == {}

    body["spec"]["replicas"] = 3
    updated = deployments.server_side_apply(
        body=body, namespace="default", field_manager="py-apply"
    )
    assert updated.spec.replicas == 3
    other = json.loads(json.dumps(body))
    other["spec"]["replicas"] = 5
    with pytest.raises(client.exceptions.ApiException) as caught:
        deployments.server_side_apply(body=other, namespace="default", field_manager="py-other")
    assert caught.value.status == 409
    status = json.loads(caught.value.body)
    assert status["details"]["causes"][0]["field"] == ".spec.replicas"
    assert status["details"]["causes"][0]["message"] == 'conflict with "py-apply"'
