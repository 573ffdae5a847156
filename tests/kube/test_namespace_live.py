"""Namespace deletion on a real ``corral server``, driven by the real kubectl.

One server for the module, running the namespace, garbage collector and
service account controllers under leader election (short lease timings).
``kubectl delete namespace`` empties the namespace — ConfigMaps, Secrets, an
unbound Pod, a custom resource — and then the namespace is gone; an object
holding a finalizer keeps it Terminating with Kubernetes' conditions until
the finalizer is removed. Waits are ``kubectl wait`` or polls with deadlines.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import pytest

import polling
from kubectlproc import get_json_or_none, kubectl_ok, run_kubectl
from serverproc import CorralServer, controller_args, module_server

Obj = dict[str, Any]
DEADLINE = 45.0

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: sprockets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: sprockets, singular: sprocket, kind: Sprocket}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"""

CONTENT = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: token}
stringData: {t: x}
---
apiVersion: v1
kind: Pod
metadata: {name: idle}
spec:
  containers: [{name: c, image: busybox}]
---
apiVersion: example.com/v1
kind: Sprocket
metadata: {name: s1}
spec: {teeth: 12}
"""


server = module_server("ns", controller_args("namespace,garbagecollector,serviceaccount"))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


poll = partial(polling.poll, deadline=DEADLINE)


def test_delete_namespace_removes_its_content_then_itself(server: CorralServer, home: Path) -> None:
    kubectl_ok(server, home, "apply", "-f", "-", stdin=CRD)
    kubectl_ok(server, home, "wait", "--for=condition=Established", "crd/sprockets.example.com")
    kubectl_ok(server, home, "create", "namespace", "doomed")
    poll(
        lambda: (
            run_kubectl(server, home, "apply", "-n", "doomed", "-f", "-", stdin=CONTENT).returncode
            == 0
        ),
        "content created (the CRD served to kubectl)",
    )
    names = kubectl_ok(
        server, home, "get", "configmaps,secrets,pods,sprockets", "-n", "doomed", "-o", "name"
    ).split()
    assert {"configmap/settings", "secret/token", "pod/idle"} <= set(names)
    assert "sprocket.example.com/s1" in names
    # kubectl deletes, then waits until the namespace is really gone.
    kubectl_ok(server, home, "delete", "namespace", "doomed", "--timeout=60s")
    assert get_json_or_none(server, home, "namespace", "doomed") is None
    for kind in ("configmaps", "secrets", "pods", "sprockets"):
        listed = get_json_or_none(server, home, kind, "-n", "doomed")
        assert listed is not None, kind
        assert listed["items"] == [], kind


def test_a_finalizer_keeps_the_namespace_terminating(server: CorralServer, home: Path) -> None:
    kubectl_ok(server, home, "create", "namespace", "held")
    kubectl_ok(
        server,
        home,
        "apply",
        "-n",
        "held",
        "-f",
        "-",
        stdin="""\
apiVersion: v1
kind: ConfigMap
metadata: {name: keeper, finalizers: [example.com/keep]}
""",
    )
    kubectl_ok(server, home, "delete", "namespace", "held", "--wait=false")

    def reported() -> Obj | None:
        ns = get_json_or_none(server, home, "namespace", "held")
        assert ns is not None
        conditions = {c["type"]: c for c in ns["status"].get("conditions") or []}
        remaining = conditions.get("NamespaceContentRemaining")
        return conditions if remaining and remaining["status"] == "True" else None

    conditions = poll(reported, "NamespaceContentRemaining reported")
    assert conditions["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: configmaps. has 1 resource instances"
    )
    assert conditions["NamespaceFinalizersRemaining"]["status"] == "True"
    assert conditions["NamespaceFinalizersRemaining"]["message"] == (
        "Some finalizers are remaining: example.com/keep in 1 resource instances"
    )
    phase = kubectl_ok(server, home, "get", "namespace", "held", "-o", "jsonpath={.status.phase}")
    assert phase == "Terminating"
    described = kubectl_ok(server, home, "describe", "namespace", "held")
    assert "NamespaceContentRemaining" in described
    kubectl_ok(
        server,
        home,
        "patch",
        "configmap",
        "keeper",
        "-n",
        "held",
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":null}}',
    )
    kubectl_ok(server, home, "wait", "--for=delete", "namespace/held", "--timeout=60s")
