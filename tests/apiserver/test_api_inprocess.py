"""The Kubernetes API in-process (memory backend, httpx ASGI transport): the
details the live tests do not reach quickly: bookmarks, watch by name,
deletecollection, resourceVersionMatch rules, expired continue tokens."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from corral.apiserver import APIServerApp, HealthChecks, HTTPMetrics, build_kube_api
from corral.auth import BootstrapTokenAuthenticator
from corral.storage import MemoryBackend

TOKEN = "in-process-token"
CMS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def backend() -> AsyncIterator[MemoryBackend]:
    b = MemoryBackend()
    await b.start()
    yield b
    await b.close()


@pytest.fixture
async def client(backend: MemoryBackend) -> AsyncIterator[httpx.AsyncClient]:
    health = HealthChecks()
    kube = await build_kube_api(backend, health)
    kube.api.parts.bookmark_interval = 0.2
    app = APIServerApp(
        authenticator=BootstrapTokenAuthenticator(hashlib.sha256(TOKEN.encode()).hexdigest()),
        health=health,
        metrics=HTTPMetrics(),
        api=kube.api,
    )
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="https://testserver", headers=headers
    ) as c:
        yield c
    await kube.stop()


async def make(client: httpx.AsyncClient, name: str, **labels: str) -> dict[str, Any]:
    response = await client.post(CMS, json={"metadata": {"name": name, "labels": labels}})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def events(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.text.splitlines() if line]


async def test_bookmarks_when_idle(client: httpx.AsyncClient) -> None:
    made = await make(client, "a")
    rv = made["metadata"]["resourceVersion"]
    response = await client.get(
        CMS,
        params={
            "watch": "1",
            "resourceVersion": rv,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": "1",
        },
    )
    seen = events(response)
    assert seen
    assert {e["type"] for e in seen} == {"BOOKMARK"}
    assert seen[0]["object"] == {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": rv},
    }


async def test_watch_one_object_by_name(client: httpx.AsyncClient) -> None:
    await make(client, "a")
    await make(client, "b")
    response = await client.get(f"{CMS}/b", params={"watch": "true", "timeoutSeconds": "1"})
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events(response)] == [
        ("ADDED", "b")
    ]


async def test_deletecollection_with_selector(client: httpx.AsyncClient) -> None:
    await make(client, "a", app="x")
    await make(client, "b", app="y")
    response = await client.delete(CMS, params={"labelSelector": "app=x"})
    assert response.status_code == 200
    assert response.json()["kind"] == "ConfigMapList"
    left = (await client.get(CMS)).json()["items"]
    assert [i["metadata"]["name"] for i in left] == ["b"]


async def test_resource_version_rules(client: httpx.AsyncClient, backend: MemoryBackend) -> None:
    first = await make(client, "a")
    await make(client, "b")
    old = first["metadata"]["resourceVersion"]
    exact = await client.get(CMS, params={"resourceVersion": old, "resourceVersionMatch": "Exact"})
    assert [i["metadata"]["name"] for i in exact.json()["items"]] == ["a"]
    assert exact.json()["metadata"]["resourceVersion"] == old
    bad = await client.get(CMS, params={"resourceVersionMatch": "Exact"})
    assert bad.status_code == 400
    page = (await client.get(CMS, params={"limit": "1"})).json()
    token = page["metadata"]["continue"]
    await backend.compact(await backend.current_revision())
    expired = await client.get(CMS, params={"limit": "1", "continue": token})
    assert expired.status_code == 410
    assert expired.json()["reason"] == "Expired"
    gone = await client.get(CMS, params={"resourceVersion": old, "resourceVersionMatch": "Exact"})
    assert gone.status_code == 410


async def test_unknown_resource_and_verbs(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/nothings")).status_code == 404
    assert (await client.get("/api/v1/namespaces/default/nodes")).status_code == 404
    assert (await client.post(CMS + "/x/scale", json={})).status_code == 404
    response = await client.delete("/api/v1/namespaces")
    assert response.status_code == 405
    assert (await client.get("/version")).status_code == 200


async def test_merge_and_strategic_patch_types(client: httpx.AsyncClient) -> None:
    await make(client, "a")
    merge = await client.patch(
        f"{CMS}/a",
        content=b'{"data":{"x":"1"}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert merge.json()["data"] == {"x": "1"}
    strategic = await client.patch(
        f"{CMS}/a",
        content=b'{"data":{"y":"2"}}',
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert strategic.json()["data"] == {"x": "1", "y": "2"}
    apply = await client.patch(
        f"{CMS}/a", content=b"{}", headers={"Content-Type": "application/apply-patch+yaml"}
    )
    assert apply.status_code == 422  # server-side apply needs a fieldManager
    assert "fieldManager: Required value" in apply.json()["message"]
    stale = await client.patch(
        f"{CMS}/a",
        content=b'{"metadata":{"resourceVersion":"1"},"data":{"z":"3"}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert stale.status_code == 409


async def test_namespace_finalize_subresource(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/namespaces", json={"metadata": {"name": "n"}})).is_success
    assert (await client.delete("/api/v1/namespaces/n")).json()["status"]["phase"] == "Terminating"
    ns = (await client.get("/api/v1/namespaces/n")).json()
    ns["spec"]["finalizers"] = []
    assert (await client.put("/api/v1/namespaces/n/finalize", json=ns)).status_code == 200
    assert (await client.get("/api/v1/namespaces/n")).status_code == 404
    assert (await client.get("/api/v1/namespaces/default/finalize")).status_code == 405
