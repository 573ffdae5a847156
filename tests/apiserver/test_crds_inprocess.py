"""CustomResourceDefinitions in-process (memory backend, httpx ASGI transport).

The CRD controller's decisions: serving a CRD's versions, its status
(conditions, acceptedNames, storedVersions), name conflicts, discovery and
OpenAPI refreshes, custom objects (schema checks, pruning, defaults,
fieldValidation, status and scale subresources, printer columns, several
versions sharing storage), the x-kubernetes-validations warning, deleting a
CRD with its objects, and serving the CRDs stored before start-up.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from corral.apiserver import APIServerApp, HealthChecks, HTTPMetrics, KubeAPIServer, build_kube_api
from corral.auth import BootstrapTokenAuthenticator
from corral.storage import MemoryBackend

TOKEN = "crd-token"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"
DEADLINE = 5.0

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {
                    "status": {},
                    "scale": {
                        "specReplicasPath": ".spec.replicas",
                        "statusReplicasPath": ".status.replicas",
                    },
                },
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {"name": "Color", "type": "string", "jsonPath": ".spec.color"},
                ],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "size": {"type": "integer", "minimum": 1},
                                    "color": {"type": "string", "default": "blue"},
                                    "replicas": {"type": "integer"},
                                    "extra": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                },
                                "required": ["size"],
                            },
                            "status": {
                                "type": "object",
                                "properties": {"replicas": {"type": "integer"}},
                            },
                        },
                    }
                },
            },
            {
                "name": "v1beta1",
                "served": True,
                "storage": False,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            },
        ],
    },
}


@pytest.fixture
async def backend() -> AsyncIterator[MemoryBackend]:
    b = MemoryBackend()
    await b.start()
    yield b
    await b.close()


Client = httpx.AsyncClient


async def _serve(backend: MemoryBackend) -> tuple[KubeAPIServer, HealthChecks, Client]:
    health = HealthChecks()
    kube = await build_kube_api(backend, health)
    app = APIServerApp(
        authenticator=BootstrapTokenAuthenticator(hashlib.sha256(TOKEN.encode()).hexdigest()),
        health=health,
        metrics=HTTPMetrics(),
        api=kube.api,
        openapi=kube.openapi,
    )
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="https://testserver",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    return kube, health, client


@pytest.fixture
async def client(backend: MemoryBackend) -> AsyncIterator[Client]:
    kube, _, c = await _serve(backend)
    async with c:
        yield c
    await kube.stop()


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def create_crd(client: Client, crd: dict[str, Any] | None = None) -> dict[str, Any]:
    body = copy.deepcopy(crd or WIDGET_CRD)
    response = await client.post(CRDS, json=body)
    assert response.status_code == 201, response.text
    name = body["metadata"]["name"]
    group, plural = body["spec"]["group"], body["spec"]["names"]["plural"]

    async def served() -> bool:
        r = await client.get(f"/apis/{group}/{body['spec']['versions'][0]['name']}")
        return r.status_code == 200 and plural in {x["name"] for x in r.json()["resources"]}

    await until(served, f"{name} served")
    got: dict[str, Any] = (await client.get(f"{CRDS}/{name}")).json()
    return got


def conditions(crd: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in crd.get("status", {}).get("conditions", [])}


async def test_a_created_crd_is_served_and_established(client: Client) -> None:
    before = await client.get("/apis", headers={"Accept": AGG})
    await create_crd(client)

    async def established() -> bool:
        crd = (await client.get(f"{CRDS}/widgets.example.com")).json()
        return conditions(crd).get("Established", {}).get("status") == "True"

    await until(established, "Established")
    crd = (await client.get(f"{CRDS}/widgets.example.com")).json()
    conds = conditions(crd)
    assert conds["NamesAccepted"]["reason"] == "NoConflicts"
    assert conds["Established"]["reason"] == "InitialNamesAccepted"
    assert crd["status"]["acceptedNames"] == {
        "plural": "widgets",
        "singular": "widget",
        "kind": "Widget",
        "listKind": "WidgetList",
        "shortNames": ["wd"],
    }
    assert crd["status"]["storedVersions"] == ["v1"]
    after = await client.get("/apis", headers={"Accept": AGG})
    assert after.headers["etag"] != before.headers["etag"]
    groups = {g["metadata"]["name"]: g for g in after.json()["items"]}
    versions = [v["version"] for v in groups["example.com"]["versions"]]
    assert versions == ["v1", "v1beta1"]
    resource = groups["example.com"]["versions"][0]["resources"][0]
    assert resource["resource"] == "widgets"
    assert {s["subresource"] for s in resource["subresources"]} == {"status", "scale"}
    group_doc = (await client.get("/apis/example.com")).json()
    assert group_doc["preferredVersion"]["version"] == "v1"


AGG = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


async def test_custom_objects_are_checked_pruned_and_defaulted(client: Client) -> None:
    await create_crd(client)
    good = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w1"},
        "spec": {"size": 3, "bogus": 1, "extra": {"free": "form"}},
    }
    made = await client.post(WIDGETS, json=good)
    assert made.status_code == 201, made.text
    obj = made.json()
    assert obj["spec"] == {"size": 3, "color": "blue", "extra": {"free": "form"}}
    assert obj["metadata"]["generation"] == 1
    bad = await client.post(
        WIDGETS, json={**good, "metadata": {"name": "w2"}, "spec": {"size": "big"}}
    )
    assert bad.status_code == 422
    assert bad.json()["details"]["causes"][0]["field"] == "spec.size"
    missing = await client.post(WIDGETS, json={**good, "metadata": {"name": "w3"}, "spec": {}})
    assert missing.status_code == 422
    assert "spec.size" in missing.text
    strict = await client.post(
        WIDGETS, params={"fieldValidation": "Strict"}, json={**good, "metadata": {"name": "w4"}}
    )
    assert strict.status_code == 400
    assert "bogus" in strict.text
    warn = await client.post(
        WIDGETS, params={"fieldValidation": "Warn"}, json={**good, "metadata": {"name": "w5"}}
    )
    assert warn.status_code == 201
    assert "bogus" in warn.headers["warning"]
    bad_name = await client.post(WIDGETS, json={**good, "metadata": {"name": "Not_Valid"}})
    assert bad_name.status_code == 422
    assert "metadata.name" in bad_name.text


async def test_versions_share_storage(client: Client) -> None:
    await create_crd(client)
    made = await client.post(
        "/apis/example.com/v1beta1/namespaces/default/widgets",
        json={"metadata": {"name": "old"}, "spec": {"size": 1, "anything": True}},
    )
    assert made.status_code == 201, made.text
    assert made.json()["apiVersion"] == "example.com/v1beta1"
    as_v1 = (await client.get(f"{WIDGETS}/old")).json()
    assert as_v1["apiVersion"] == "example.com/v1"
    listed = (await client.get("/apis/example.com/v1beta1/widgets")).json()
    assert listed["kind"] == "WidgetList"
    assert [i["apiVersion"] for i in listed["items"]] == ["example.com/v1beta1"]


async def test_status_scale_patch_and_table(client: Client) -> None:
    await create_crd(client)
    body = {"metadata": {"name": "w"}, "spec": {"size": 2, "replicas": 1}, "status": {"x": 1}}
    made = (await client.post(WIDGETS, json=body)).json()
    assert "status" not in made
    status = await client.patch(
        f"{WIDGETS}/w/status",
        json={"status": {"replicas": 1}, "spec": {"size": 9}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert status.status_code == 200, status.text
    assert status.json()["status"] == {"replicas": 1}
    assert status.json()["spec"]["size"] == 2
    smp = await client.patch(
        f"{WIDGETS}/w",
        json={"spec": {"size": 5}},
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert smp.status_code == 415
    merged = await client.patch(
        f"{WIDGETS}/w",
        json={"spec": {"size": 5}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert merged.json()["metadata"]["generation"] == 2
    json_patch = await client.patch(
        f"{WIDGETS}/w",
        json=[{"op": "replace", "path": "/spec/size", "value": "x"}],
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert json_patch.status_code == 422
    scale = (await client.get(f"{WIDGETS}/w/scale")).json()
    assert scale["spec"]["replicas"] == 1
    assert scale["status"]["replicas"] == 1
    scaled = await client.patch(
        f"{WIDGETS}/w/scale",
        json={"spec": {"replicas": 4}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert scaled.status_code == 200, scaled.text
    assert (await client.get(f"{WIDGETS}/w")).json()["spec"]["replicas"] == 4
    table = (
        await client.get(
            WIDGETS, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
        )
    ).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Size", "Color"]
    assert table["rows"][0]["cells"] == ["w", 5, "blue"]


async def test_openapi_has_the_crd_schema(client: Client) -> None:
    await client.get("/openapi/v3")
    await create_crd(client)

    async def published() -> bool:
        index = (await client.get("/openapi/v3")).json()
        return "apis/example.com/v1" in index["paths"]

    await until(published, "openapi")
    doc = (await client.get("/openapi/v3/apis/example.com/v1")).json()
    schemas = doc["components"]["schemas"]
    widget = next(v for k, v in schemas.items() if k == "com.example.v1.Widget")
    assert "size" in widget["properties"]["spec"]["properties"]


async def test_validation_rules_are_reported_not_dropped(client: Client) -> None:
    crd = copy.deepcopy(WIDGET_CRD)
    version = crd["spec"]["versions"][0]
    version["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"] = [
        {"rule": "self.size < 10"}
    ]
    await create_crd(client, crd)
    made = await client.post(WIDGETS, json={"metadata": {"name": "r"}, "spec": {"size": 1}})
    assert made.status_code == 201
    assert "x-kubernetes-validations" in made.headers["warning"]


async def test_name_conflicts_are_refused(client: Client) -> None:
    await create_crd(client)
    other = copy.deepcopy(WIDGET_CRD)
    other["metadata"]["name"] = "gadgets.example.com"
    other["spec"]["names"] = {"plural": "gadgets", "singular": "gadget", "kind": "Widget"}
    response = await client.post(CRDS, json=other)
    assert response.status_code == 201

    async def refused() -> bool:
        crd = (await client.get(f"{CRDS}/gadgets.example.com")).json()
        return conditions(crd).get("NamesAccepted", {}).get("status") == "False"

    await until(refused, "NamesAccepted=False")
    crd = (await client.get(f"{CRDS}/gadgets.example.com")).json()
    assert conditions(crd)["NamesAccepted"]["reason"] == "KindConflict"
    assert conditions(crd)["Established"]["status"] == "False"
    assert (await client.get("/apis/example.com/v1/gadgets")).status_code == 404


async def test_deleting_a_crd_deletes_its_objects(client: Client, backend: MemoryBackend) -> None:
    await create_crd(client)
    for name in ("a", "b"):
        r = await client.post(WIDGETS, json={"metadata": {"name": name}, "spec": {"size": 1}})
        assert r.status_code == 201
    deleted = await client.delete(f"{CRDS}/widgets.example.com")
    assert deleted.status_code == 200, deleted.text
    assert "customresourcecleanup.apiextensions.k8s.io" in deleted.json()["metadata"]["finalizers"]

    async def gone() -> bool:
        return (await client.get(f"{CRDS}/widgets.example.com")).status_code == 404

    await until(gone, "CRD deleted")
    assert (await client.get(WIDGETS)).status_code == 404
    assert (await backend.list("/registry/example.com/widgets/")).items == []
    groups = (await client.get("/apis")).json()["groups"]
    assert "example.com" not in {g["name"] for g in groups}


async def test_stored_crds_are_served_before_ready(backend: MemoryBackend) -> None:
    kube, _, c = await _serve(backend)
    async with c:
        await create_crd(c)
        await c.post(WIDGETS, json={"metadata": {"name": "kept"}, "spec": {"size": 1}})
    await kube.stop()
    kube, _, c = await _serve(backend)
    async with c:

        async def ready() -> bool:
            return (await c.get("/readyz")).status_code == 200

        await until(ready, "ready")
        assert (await c.get(f"{WIDGETS}/kept")).status_code == 200
    await kube.stop()


async def test_crd_delete_preconditions_and_deletecollection(client: Client) -> None:
    crd = await create_crd(client)
    stale = await client.request(
        "DELETE",
        f"{CRDS}/widgets.example.com",
        json={"preconditions": {"resourceVersion": "1"}},
    )
    assert stale.status_code == 409
    r = await client.post(WIDGETS, json={"metadata": {"name": "x"}, "spec": {"size": 1}})
    assert r.status_code == 201
    current = (await client.get(f"{CRDS}/widgets.example.com")).json()
    assert current["metadata"]["uid"] == crd["metadata"]["uid"]
    assert "finalizers" not in current["metadata"]
    deleted = await client.request("DELETE", CRDS, json={})
    assert deleted.status_code == 200, deleted.text

    async def gone() -> bool:
        items: list[Any] = (await client.get(CRDS)).json()["items"]
        return not items

    await until(gone, "CRDs deleted")
    recreated = await create_crd(client)
    assert recreated["metadata"]["uid"] != crd["metadata"]["uid"]
    assert (await client.get(WIDGETS)).json()["items"] == []


async def test_watch_and_generation_without_status_subresource(client: Client) -> None:
    crd = copy.deepcopy(WIDGET_CRD)
    del crd["spec"]["versions"][0]["subresources"]
    await create_crd(client, crd)
    made = await client.post(
        WIDGETS, json={"metadata": {"name": "g"}, "spec": {"size": 1}, "status": {"replicas": 1}}
    )
    assert made.json()["status"] == {"replicas": 1}
    patched = await client.patch(
        f"{WIDGETS}/g",
        json={"status": {"replicas": 2}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.json()["metadata"]["generation"] == 2
    assert (await client.get(f"{WIDGETS}/g/status")).status_code == 404
    watched = await client.get(
        WIDGETS, params={"watch": "1", "resourceVersion": "0", "timeoutSeconds": "1"}
    )
    events = [line for line in watched.text.splitlines() if line]
    assert len(events) == 1
    assert '"type":"ADDED"' in events[0]
    assert '"apiVersion":"example.com/v1"' in events[0]
