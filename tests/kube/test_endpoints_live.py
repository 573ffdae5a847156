"""The endpoints and endpointslice controllers against a real server, with the real kubectl.

One server per module; both controllers run in the test process
(`controllerthread`) over HTTP. The test plays the kubelet: it gives pods
an IP and flips their ``Ready`` condition through ``pods/status``, and
Endpoints and EndpointSlices follow; headless Services, named target
ports, ``publishNotReadyAddresses``, terminating pods, the 100-endpoint
slice limit and Services without a selector are covered too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from controllerthread import server_with_controllers
from corral.kube import endpoints
from kubectlproc import get_json_or_none, kubectl_ok
from polling import poll
from serverproc import CorralServer

Obj = dict[str, Any]
CORE = "/api/v1"


server = server_with_controllers("endpoints", [endpoints.build, endpoints.build_endpointslice])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def http(server: CorralServer) -> Iterator[httpx.Client]:
    with server.client(server.token) as client:
        yield client


def pod_body(name: str, app: str, **spec: Any) -> Obj:
    container = {
        "name": "main",
        "image": "nginx",
        "ports": [{"name": "http", "containerPort": 8080}],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"containers": [container], "nodeName": "node-1", **spec},
    }


def set_status(http: httpx.Client, ns: str, name: str, ip: str, ready: bool) -> None:
    """What the kubelet reports: Running, an IP, and the Ready condition."""
    status = {
        "phase": "Running",
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "conditions": [
            {"type": "Ready", "status": "True" if ready else "False"},
            {"type": "ContainersReady", "status": "True" if ready else "False"},
        ],
    }
    response = http.patch(
        f"{CORE}/namespaces/{ns}/pods/{name}/status",
        json={"status": status},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text


def apply(server: CorralServer, home: Path, ns: str, *docs: Obj) -> None:
    body = {"apiVersion": "v1", "kind": "List", "items": list(docs)}
    kubectl_ok(server, home, "apply", "-n", ns, "-f", "-", stdin=json.dumps(body))


def service(name: str, **spec: Any) -> Obj:
    ports = [{"name": "web", "port": 80, "targetPort": "http"}]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {"tier": "front"}},
        "spec": {"selector": {"app": name}, "ports": ports, **spec},
    }


def addresses(ep: Obj | None) -> tuple[list[str], list[str]]:
    ready: list[str] = []
    unready: list[str] = []
    for subset in (ep or {}).get("subsets") or []:
        ready += [a["ip"] for a in subset.get("addresses") or []]
        unready += [a["ip"] for a in subset.get("notReadyAddresses") or []]
    return sorted(ready), sorted(unready)


def slices_of(server: CorralServer, home: Path, ns: str, svc: str) -> list[Obj]:
    found = get_json_or_none(
        server, home, "-n", ns, "endpointslices", "-l", f"kubernetes.io/service-name={svc}"
    )
    items: list[Obj] = (found or {}).get("items") or []
    return items


def slice_conditions(server: CorralServer, home: Path, ns: str, svc: str) -> dict[str, Obj]:
    out = {}
    for s in slices_of(server, home, ns, svc):
        for e in s.get("endpoints") or []:
            out[e["addresses"][0]] = e["conditions"]
    return out


def test_endpoints_follow_pod_readiness(
    server: CorralServer, home: Path, http: httpx.Client
) -> None:
    ns = "ready-ns"
    kubectl_ok(server, home, "create", "namespace", ns)
    apply(
        server,
        home,
        ns,
        service("web"),
        pod_body("w1", "web"),
        pod_body("w2", "web"),
        pod_body("other", "db"),
    )
    set_status(http, ns, "w1", "10.42.0.11", ready=True)
    set_status(http, ns, "w2", "10.42.0.12", ready=False)
    set_status(http, ns, "other", "10.42.0.13", ready=True)

    def endpoints_are(ready: list[str], unready: list[str]) -> Obj | None:
        ep = get_json_or_none(server, home, "-n", ns, "endpoints", "web")
        return ep if addresses(ep) == (ready, unready) else None

    ep = poll(lambda: endpoints_are(["10.42.0.11"], ["10.42.0.12"]), "w1 ready, w2 not")
    subset = ep["subsets"][0]
    assert subset["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
    address = subset["addresses"][0]
    assert address["nodeName"] == "node-1"
    assert address["targetRef"]["kind"] == "Pod"
    assert address["targetRef"]["name"] == "w1"
    assert ep["metadata"]["labels"] == {"tier": "front"}
    assert "endpoints.kubernetes.io/last-change-trigger-time" in ep["metadata"]["annotations"]

    slices = poll(
        lambda: (
            (s := slices_of(server, home, ns, "web"))
            and len(s) == 1
            and len(s[0].get("endpoints") or []) == 2
            and s
        ),
        "one slice with both pods",
    )
    assert len(slices) == 1
    eps = slices[0]
    assert eps["addressType"] == "IPv4"
    assert eps["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == (
        "endpointslice-controller.k8s.io"
    )
    assert eps["metadata"]["labels"]["tier"] == "front"
    assert eps["metadata"]["generateName"] == "web-"
    owner = eps["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("Service", "web", True)
    assert eps["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
    assert slice_conditions(server, home, ns, "web") == {
        "10.42.0.11": {"ready": True, "serving": True, "terminating": False},
        "10.42.0.12": {"ready": False, "serving": False, "terminating": False},
    }

    set_status(http, ns, "w2", "10.42.0.12", ready=True)
    set_status(http, ns, "w1", "10.42.0.11", ready=False)
    poll(lambda: endpoints_are(["10.42.0.12"], ["10.42.0.11"]), "readiness flipped")
    poll(
        lambda: slice_conditions(server, home, ns, "web").get("10.42.0.12", {}).get("ready"),
        "slice follows",
    )
    described = kubectl_ok(server, home, "describe", "-n", ns, "service", "web")
    assert "10.42.0.12:8080" in described

    # A bound pod being deleted is terminating: gone from Endpoints, kept in the slice.
    kubectl_ok(server, home, "delete", "-n", ns, "pod", "w2", "--wait=false")
    poll(lambda: endpoints_are([], ["10.42.0.11"]), "terminating pod left out")
    poll(
        lambda: (
            slice_conditions(server, home, ns, "web").get("10.42.0.12")
            == {"ready": False, "serving": True, "terminating": True}
        ),
        "terminating in the slice",
    )
    # Labels moving a pod out of the selector take it out.
    kubectl_ok(server, home, "label", "-n", ns, "pod", "w1", "app=gone", "--overwrite")
    poll(lambda: endpoints_are([], []), "relabelled pod left out")


def test_headless_publish_not_ready_and_selectorless(
    server: CorralServer, home: Path, http: httpx.Client
) -> None:
    ns = "headless-ns"
    kubectl_ok(server, home, "create", "namespace", ns)
    db = service("db", clusterIP="None", publishNotReadyAddresses=True)
    db["spec"]["ports"] = [{"name": "pg", "port": 5432, "targetPort": 5432}]
    manual = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "external"},
        "spec": {"ports": [{"port": 80}]},
    }
    pod = pod_body("db-0", "db", hostname="db-0", subdomain="db")
    apply(server, home, ns, db, manual, pod)
    set_status(http, ns, "db-0", "10.42.1.5", ready=False)

    def published() -> Obj | None:
        ep = get_json_or_none(server, home, "-n", ns, "endpoints", "db")
        return ep if addresses(ep) == (["10.42.1.5"], []) else None

    ep = poll(published, "unready pod published")
    assert ep["subsets"][0]["addresses"][0]["hostname"] == "db-0"
    assert ep["subsets"][0]["ports"] == [{"name": "pg", "port": 5432, "protocol": "TCP"}]
    assert ep["metadata"]["labels"]["service.kubernetes.io/headless"] == ""
    conditions = poll(lambda: slice_conditions(server, home, ns, "db"), "headless slice")
    assert conditions["10.42.1.5"] == {"ready": True, "serving": True, "terminating": False}
    # The selectorless Service is someone else's: no Endpoints, no slices are made.
    assert get_json_or_none(server, home, "-n", ns, "endpoints", "external") is None
    assert slices_of(server, home, ns, "external") == []

    kubectl_ok(server, home, "delete", "-n", ns, "service", "db")
    poll(
        lambda: get_json_or_none(server, home, "-n", ns, "endpoints", "db") is None,
        "endpoints deleted",
    )
    poll(lambda: slices_of(server, home, ns, "db") == [], "slices deleted")


def test_slices_hold_at_most_100_endpoints(
    server: CorralServer, home: Path, http: httpx.Client
) -> None:
    ns = "many-ns"
    kubectl_ok(server, home, "create", "namespace", ns)
    pods = [pod_body(f"p{i}", "many") for i in range(105)]
    apply(server, home, ns, *pods)
    for i in range(105):
        set_status(http, ns, f"p{i}", f"10.42.2.{i + 1}", ready=True)
    apply(server, home, ns, service("many"))

    def split() -> list[int] | None:
        sizes = sorted(len(s.get("endpoints") or []) for s in slices_of(server, home, ns, "many"))
        return sizes if sizes == [5, 100] else None

    poll(split, "105 endpoints in slices of 100 and 5")
    ep = poll(lambda: get_json_or_none(server, home, "-n", ns, "endpoints", "many"), "endpoints")
    assert len(addresses(ep)[0]) == 105
