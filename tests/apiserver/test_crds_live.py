"""CustomResourceDefinitions on a real ``corral server``: the real kubectl and the
official ``kubernetes`` Python client, default flags.

kubectl applies a CRD and objects of it from one multi-document file (it
re-reads discovery when a kind is unknown, as against a real cluster), shows
the printer columns, explains a CRD field from ``/openapi/v3``, sees invalid
objects and unknown fields refused with the field named, and deleting the
CRD takes its objects with it. No fixed sleeps: deadlines and polling only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config  # type: ignore[import-untyped]
from kubernetes.client.rest import ApiException  # type: ignore[import-untyped]

from kubectlproc import kubectl_ok, run_kubectl
from serverproc import CorralServer, module_server

DEADLINE = 20.0

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: [ct]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
    additionalPrinterColumns:
    - name: Spec
      type: string
      jsonPath: .spec.cronSpec
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              cronSpec:
                type: string
                description: The schedule, in cron format.
              image:
                type: string
              replicas:
                type: integer
                default: 1
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
"""

OBJECTS = """\
---
apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: first
  namespace: default
spec:
  cronSpec: "* * * * */5"
  image: my-cron-image
---
apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: second
  namespace: default
spec:
  cronSpec: "0 * * * *"
  image: other
  replicas: 3
"""


server = module_server("crds")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("files")
    (path / "all.yaml").write_text(CRD + OBJECTS)
    return path


@pytest.fixture(scope="module")
def api(server: CorralServer) -> Iterator[Any]:
    api_client = config.new_client_from_config(config_file=str(server.kubeconfig_path))
    api_client.set_default_header("Connection", "close")
    yield api_client
    api_client.close()


def until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_apply_a_crd_and_its_objects_from_one_file(
    server: CorralServer, home: Path, files: Path
) -> None:
    # kubectl maps every document to a resource before it writes any, so on
    # the first apply the new kind is unknown, exactly as on a real cluster.
    first = run_kubectl(server, home, "apply", "-f", str(files / "all.yaml"))
    assert "customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com" in (
        first.stdout
    )
    if first.returncode != 0:
        assert "ensure CRDs are installed first" in first.stderr
    kubectl_ok(
        server,
        home,
        "wait",
        "--for",
        "condition=established",
        "--timeout=20s",
        "crd/crontabs.stable.example.com",
    )
    out = kubectl_ok(server, home, "apply", "-f", str(files / "all.yaml"))
    assert "crontab.stable.example.com/first" in out
    assert "crontab.stable.example.com/second" in out
    resources = kubectl_ok(server, home, "api-resources", "--api-group=stable.example.com")
    assert resources.splitlines()[1].split() == [
        "crontabs",
        "ct",
        "stable.example.com/v1",
        "true",
        "CronTab",
    ]


def test_get_shows_the_printer_columns(server: CorralServer, home: Path) -> None:
    lines = kubectl_ok(server, home, "get", "crontabs").splitlines()
    assert lines[0].split() == ["NAME", "SPEC", "REPLICAS"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert rows["first"].split()[-1] == "1"  # defaulted
    assert rows["second"].split()[-1] == "3"
    short = kubectl_ok(server, home, "get", "ct", "first", "-o", "json")
    assert json.loads(short)["spec"]["replicas"] == 1


def test_explain_a_crd_field(server: CorralServer, home: Path) -> None:
    out = kubectl_ok(server, home, "explain", "crontab.spec.cronSpec")
    assert "The schedule, in cron format." in out


def test_invalid_objects_and_unknown_fields_are_refused(server: CorralServer, home: Path) -> None:
    bad = (
        OBJECTS.split("---\n")[1]
        .replace("name: first", "name: bad")
        .replace("image: my-cron-image", "image: 42\n  replicas: lots")
    )
    done = run_kubectl(server, home, "apply", "-f", "-", stdin=bad)
    assert done.returncode != 0
    assert "spec.replicas" in done.stderr
    unknown = OBJECTS.split("---\n")[1].replace("name: first", "name: odd") + "  colour: red\n"
    done = run_kubectl(server, home, "apply", "-f", "-", stdin=unknown)
    assert done.returncode != 0
    assert "colour" in done.stderr


def test_the_python_client(api: Any) -> None:
    custom = client.CustomObjectsApi(api)
    group, version, plural = "stable.example.com", "v1", "crontabs"
    made = custom.create_namespaced_custom_object(
        group,
        version,
        "default",
        plural,
        {
            "apiVersion": "stable.example.com/v1",
            "kind": "CronTab",
            "metadata": {"name": "py", "labels": {"made-by": "python"}},
            "spec": {"cronSpec": "1 * * * *"},
        },
    )
    assert made["spec"]["replicas"] == 1
    listed = custom.list_namespaced_custom_object(
        group, version, "default", plural, label_selector="made-by=python"
    )
    assert [i["metadata"]["name"] for i in listed["items"]] == ["py"]
    patched = custom.patch_namespaced_custom_object(
        group, version, "default", plural, "py", {"spec": {"replicas": 2}}
    )
    assert patched["spec"]["replicas"] == 2
    assert patched["metadata"]["generation"] == 2
    status = custom.patch_namespaced_custom_object_status(
        group, version, "default", plural, "py", {"status": {"ok": True}}
    )
    assert status["status"] == {"ok": True}
    with pytest.raises(ApiException) as err:
        custom.create_namespaced_custom_object(
            group,
            version,
            "default",
            plural,
            {
                "apiVersion": "stable.example.com/v1",
                "kind": "CronTab",
                "metadata": {"name": "wrong"},
                "spec": {"replicas": "two"},
            },
        )
    assert err.value.status == 422
    assert "spec.replicas" in err.value.body
    ext = client.ApiextensionsV1Api(api)
    crd = ext.read_custom_resource_definition("crontabs.stable.example.com")
    kinds = {c.type: c.status for c in crd.status.conditions}
    assert kinds["Established"] == "True"
    assert kinds["NamesAccepted"] == "True"
    assert crd.status.accepted_names.kind == "CronTab"
    assert crd.status.stored_versions == ["v1"]
    custom.delete_namespaced_custom_object(group, version, "default", plural, "py")


def test_deleting_the_crd_deletes_its_objects(server: CorralServer, home: Path) -> None:
    kubectl_ok(server, home, "delete", "crd", "crontabs.stable.example.com", "--timeout=20s")
    with server.client(server.token) as http:
        gone = http.get("/apis/stable.example.com/v1/namespaces/default/crontabs")
        assert gone.status_code == 404

        def no_group() -> bool:
            groups = http.get("/apis").json()["groups"]
            return "stable.example.com" not in {g["name"] for g in groups}

        until(no_group, "discovery without the group")
    done = run_kubectl(server, home, "get", "crontabs")
    assert done.returncode != 0
    # Recreated, the CRD is empty: its old objects were deleted.
    kubectl_ok(server, home, "apply", "-f", "-", stdin=CRD)
    kubectl_ok(
        server,
        home,
        "wait",
        "--for",
        "condition=established",
        "--timeout=20s",
        "crd/crontabs.stable.example.com",
    )
    with server.client(server.token) as http:
        listed = http.get("/apis/stable.example.com/v1/crontabs").json()
        assert listed["items"] == []
