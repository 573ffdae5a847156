"""Discovery and the real kubectl against a real ``corral server``.

kubectl (``/usr/bin/kubectl``) runs with the admin kubeconfig and a fresh
HOME, so its discovery cache starts empty; it calls ``/version`` first and
then the aggregated discovery documents.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kubectlproc import kubectl_ok
from serverproc import CorralServer, module_server

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


server = module_server("kubectl")


@pytest.fixture(scope="module")
def http(server: CorralServer) -> Iterator[httpx.Client]:
    with server.client(server.token) as c:
        yield c


@pytest.fixture(scope="module")
def kubectl_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


def test_version_is_public(server: CorralServer) -> None:
    with server.client() as c:
        response = c.get("/version")
    assert response.status_code == 200
    doc = response.json()
    assert (doc["major"], doc["minor"]) == ("1", "32")
    assert doc["gitVersion"].startswith("v1.32.")
    assert doc["corralVersion"]
    assert doc["platform"].startswith("linux/")


def test_api_and_apis(http: httpx.Client) -> None:
    api = http.get("/api").json()
    assert api["kind"] == "APIVersions"
    assert api["versions"] == ["v1"]
    v1 = http.get("/api/v1").json()
    names = {r["name"]: r for r in v1["resources"]}
    assert names["configmaps"]["shortNames"] == ["cm"]
    assert names["pods"]["categories"] == ["all"]
    assert "pods/status" in names
    assert names["namespaces"]["namespaced"] is False
    apis = http.get("/apis").json()
    assert apis["kind"] == "APIGroupList"
    groups = {g["name"] for g in apis["groups"]}
    assert {"apps", "batch", "rbac.authorization.k8s.io", "events.k8s.io"} <= groups
    apps = http.get("/apis/apps").json()
    assert apps["preferredVersion"]["groupVersion"] == "apps/v1"
    deploy = {r["name"]: r for r in http.get("/apis/apps/v1").json()["resources"]}
    assert deploy["deployments"]["shortNames"] == ["deploy"]
    assert http.get("/apis/nothing/v1").status_code == 404


def test_aggregated_discovery(http: httpx.Client) -> None:
    response = http.get("/apis", headers={"Accept": AGGREGATED + ",application/json"})
    assert response.headers["content-type"] == AGGREGATED
    doc = response.json()
    assert doc["kind"] == "APIGroupDiscoveryList"
    assert doc["apiVersion"] == "apidiscovery.k8s.io/v2"
    apps = next(i for i in doc["items"] if i["metadata"]["name"] == "apps")
    resources = {r["resource"]: r for r in apps["versions"][0]["resources"]}
    assert resources["deployments"]["scope"] == "Namespaced"
    assert resources["deployments"]["responseKind"]["kind"] == "Deployment"
    core = http.get("/api", headers={"Accept": AGGREGATED}).json()
    assert core["items"][0]["versions"][0]["version"] == "v1"


def test_discovery_etag(http: httpx.Client) -> None:
    first = http.get("/api/v1")
    etag = first.headers["etag"]
    again = http.get("/api/v1", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_kubectl_reads(server: CorralServer, kubectl_home: Path) -> None:
    namespaces = kubectl_ok(server, kubectl_home, "get", "ns")
    assert "default" in namespaces
    assert "kube-system" in namespaces
    versions = kubectl_ok(server, kubectl_home, "api-versions").split()
    assert "apps/v1" in versions
    assert "v1" in versions
    resources = kubectl_ok(server, kubectl_home, "api-resources")
    assert "configmaps" in resources
    assert "deploy" in resources


def test_kubectl_get_json_and_delete(
    server: CorralServer, http: httpx.Client, kubectl_home: Path
) -> None:
    body: dict[str, Any] = {"metadata": {"name": "x"}, "data": {"k": "v"}}
    assert http.post("/api/v1/namespaces/default/configmaps", json=body).status_code == 201
    listed = json.loads(kubectl_ok(server, kubectl_home, "get", "configmaps", "-A", "-o", "json"))
    assert [i["metadata"]["name"] for i in listed["items"]] == ["x"]
    out = kubectl_ok(server, kubectl_home, "delete", "configmap", "x")
    assert 'configmap "x" deleted' in out
    assert http.get("/api/v1/namespaces/default/configmaps/x").status_code == 404


def test_errors_are_status(http: httpx.Client) -> None:
    too_big = http.post(
        "/api/v1/namespaces/default/configmaps",
        content=b"{" + b" " * (3 * 1024 * 1024 + 10) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert too_big.status_code == 413
    assert too_big.json()["reason"] == "RequestEntityTooLarge"
    wrong_type = http.post(
        "/api/v1/namespaces/default/configmaps",
        content=b"x",
        headers={"Content-Type": "text/csv"},
    )
    assert wrong_type.status_code == 415
    not_allowed = http.post("/api/v1/namespaces/default/configmaps/x/status", json={})
    assert not_allowed.status_code == 404
    ns_collection = http.delete("/api/v1/namespaces")
    assert ns_collection.status_code == 405
    assert ns_collection.json()["reason"] == "MethodNotAllowed"


def test_yaml_in_and_out(http: httpx.Client) -> None:
    created = http.post(
        "/api/v1/namespaces/default/configmaps",
        content=b"metadata:\n  name: y\ndata:\n  a: b\n",
        headers={"Content-Type": "application/yaml", "Accept": "application/yaml"},
    )
    assert created.status_code == 201
    assert created.headers["content-type"] == "application/yaml"
    assert "name: y" in created.text


def test_table_output(http: httpx.Client) -> None:
    table = http.get(
        "/api/v1/namespaces",
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"},
    ).json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert "default" in [r["cells"][0] for r in table["rows"]]


def test_kubectl_scale(server: CorralServer, http: httpx.Client, kubectl_home: Path) -> None:
    labels = {"app": "web"}
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }
    assert http.post("/apis/apps/v1/namespaces/default/deployments", json=body).status_code == 201
    out = kubectl_ok(server, kubectl_home, "scale", "deployment", "web", "--replicas=3")
    assert "scaled" in out
    got = http.get("/apis/apps/v1/namespaces/default/deployments/web").json()
    assert got["spec"]["replicas"] == 3
    assert got["metadata"]["generation"] == 2
    scale = http.get("/apis/apps/v1/namespaces/default/deployments/web/scale").json()
    assert scale["kind"] == "Scale"
    assert scale["spec"] == {"replicas": 3}
    assert scale["status"]["selector"] == "app=web"


def test_events_k8s_io_serves_core_events(http: httpx.Client) -> None:
    event = {
        "metadata": {"name": "ev1"},
        "involvedObject": {"kind": "Pod", "name": "p"},
        "reason": "Started",
        "message": "started",
    }
    assert http.post("/api/v1/namespaces/default/events", json=event).status_code == 201
    got = http.get("/apis/events.k8s.io/v1/namespaces/default/events/ev1?resourceVersion=0")
    if got.status_code == 404:  # the cache may not have the event yet: read storage
        got = http.get("/apis/events.k8s.io/v1/namespaces/default/events/ev1")
    doc = got.json()
    assert doc["apiVersion"] == "events.k8s.io/v1"
    assert doc["regarding"] == {"kind": "Pod", "name": "p"}
    assert doc["note"] == "started"
    listed = http.get(
        "/apis/events.k8s.io/v1/namespaces/default/events",
        params={"fieldSelector": "reason=Started"},
    ).json()
    assert [i["metadata"]["name"] for i in listed["items"]] == ["ev1"]


def test_watch_as_table(http: httpx.Client) -> None:
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    with http.stream(
        "GET",
        "/api/v1/namespaces",
        params={"watch": "1", "timeoutSeconds": "1"},
        headers={"Accept": accept},
    ) as response:
        events = [json.loads(line) for line in response.iter_lines() if line]
    assert len(events) >= 4
    assert {e["object"]["kind"] for e in events} == {"Table"}
    assert events[0]["object"]["columnDefinitions"]
    assert events[1]["object"]["columnDefinitions"] == []
    assert len(events[0]["object"]["rows"]) == 1
