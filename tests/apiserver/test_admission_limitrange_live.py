"""LimitRange admission on a real server, through the real kubectl.

Defaults land in containers that lack requests or limits (with the
``kubernetes.io/limit-ranger`` annotation and the QoS class that follows);
containers, pods and claims beyond the bounds are refused with
Kubernetes' messages; a quota on cpu is satisfied by LimitRange defaults
(LimitRanger runs before ResourceQuota).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubectlproc import kubectl_ok, run_kubectl
from serverproc import CorralServer, module_server

Obj = dict[str, Any]

LIMITS = """\
apiVersion: v1
kind: LimitRange
metadata: {name: limits}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 200m, memory: 128Mi}
    max: {cpu: "1", memory: 1Gi}
    min: {cpu: 50m}
    maxLimitRequestRatio: {cpu: "4"}
  - type: Pod
    max: {cpu: "1.5"}
  - type: PersistentVolumeClaim
    min: {storage: 1Gi}
    max: {storage: 10Gi}
"""


server = module_server("limits")


@pytest.fixture(scope="module")
def ns(server: CorralServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    home = tmp_path_factory.mktemp("home")
    kubectl_ok(server, home, "create", "namespace", "limited")
    kubectl_ok(server, home, "apply", "-n", "limited", "-f", "-", stdin=LIMITS)
    return "limited"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


def pod(name: str, *containers: Obj) -> str:
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": list(containers)},
    }
    return json.dumps(body)


def container(name: str, **resources: Obj) -> Obj:
    out: Obj = {"name": name, "image": "nginx"}
    if resources:
        out["resources"] = resources
    return out


def test_defaults_fill_missing_requests_and_limits(
    server: CorralServer, home: Path, ns: str
) -> None:
    kubectl_ok(server, home, "apply", "-n", ns, "-f", "-", stdin=pod("plain", container("app")))
    got = json.loads(kubectl_ok(server, home, "get", "-n", ns, "pod", "plain", "-o", "json"))
    resources = got["spec"]["containers"][0]["resources"]
    assert resources == {
        "limits": {"cpu": "500m", "memory": "256Mi"},
        "requests": {"cpu": "200m", "memory": "128Mi"},
    }
    assert got["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container app; "
        "cpu, memory limit for container app"
    )
    assert got["status"]["qosClass"] == "Burstable"
    # What the container states is kept; only the missing part is filled in.
    partial = container("app", limits={"cpu": "800m"})
    kubectl_ok(server, home, "apply", "-n", ns, "-f", "-", stdin=pod("partial", partial))
    got = json.loads(kubectl_ok(server, home, "get", "-n", ns, "pod", "partial", "-o", "json"))
    resources = got["spec"]["containers"][0]["resources"]
    assert resources["limits"] == {"cpu": "800m", "memory": "256Mi"}
    assert resources["requests"] == {"cpu": "800m", "memory": "128Mi"}


def test_over_max_container_refused(server: CorralServer, home: Path, ns: str) -> None:
    big = container("app", limits={"cpu": "2"}, requests={"cpu": "1"})
    refused = run_kubectl(server, home, "apply", "-n", ns, "-f", "-", stdin=pod("big", big))
    assert refused.returncode != 0
    # Both the container and the pod item are broken: Kubernetes lists both.
    assert (
        'pods "big" is forbidden: [maximum cpu usage per Container is 1, but limit is 2, '
        "maximum cpu usage per Pod is 1500m, but limit is 2]"
    ) in refused.stderr
    tiny = container("app", requests={"cpu": "10m"}, limits={"cpu": "20m"})
    refused = run_kubectl(server, home, "apply", "-n", ns, "-f", "-", stdin=pod("tiny", tiny))
    assert "minimum cpu usage per Container is 50m, but request is 10m" in refused.stderr
    skewed = container("app", requests={"cpu": "100m"}, limits={"cpu": "1"})
    refused = run_kubectl(server, home, "apply", "-n", ns, "-f", "-", stdin=pod("skewed", skewed))
    assert "cpu max limit to request ratio per Container is 4, but provided ratio is 10.000000" in (
        refused.stderr
    )


def test_pod_total_bounded(server: CorralServer, home: Path, ns: str) -> None:
    each = {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}
    body = pod("pair", container("a", **each), container("b", **each))
    refused = run_kubectl(server, home, "apply", "-n", ns, "-f", "-", stdin=body)
    assert refused.returncode != 0
    assert 'pods "pair" is forbidden: maximum cpu usage per Pod is 1500m, but limit is 2' in (
        refused.stderr
    )


def test_claims_bounded(server: CorralServer, home: Path, ns: str) -> None:
    def claim(name: str, size: str) -> str:
        return json.dumps(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": name},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": size}},
                },
            }
        )

    refused = run_kubectl(server, home, "apply", "-n", ns, "-f", "-", stdin=claim("small", "500Mi"))
    assert (
        'persistentvolumeclaims "small" is forbidden: minimum storage usage per '
        "PersistentVolumeClaim is 1Gi, but request is 500Mi"
    ) in refused.stderr
    refused = run_kubectl(server, home, "apply", "-n", ns, "-f", "-", stdin=claim("huge", "20Gi"))
    assert "maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi" in (
        refused.stderr
    )
    kubectl_ok(server, home, "apply", "-n", ns, "-f", "-", stdin=claim("fine", "2Gi"))


def test_defaults_satisfy_a_cpu_quota(server: CorralServer, home: Path, ns: str) -> None:
    # The quota's status is written by hand here (no controller in this module).
    kubectl_ok(server, home, "create", "quota", "cpu", "-n", ns, "--hard=requests.cpu=10")
    status = {"status": {"hard": {"requests.cpu": "10"}, "used": {"requests.cpu": "0"}}}
    kubectl_ok(
        server,
        home,
        "patch",
        "-n",
        ns,
        "quota",
        "cpu",
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(status),
    )
    kubectl_ok(server, home, "apply", "-n", ns, "-f", "-", stdin=pod("counted", container("app")))
    got = json.loads(kubectl_ok(server, home, "get", "-n", ns, "quota", "cpu", "-o", "json"))
    assert got["status"]["used"] == {"requests.cpu": "200m"}
