"""``pods/binding``: one write sets the node and PodScheduled; a bound pod refuses a second."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from inprocess import inprocess_api

PODS = "/api/v1/namespaces/default/pods"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with inprocess_api() as api:
        yield api.http


def binding(node: str, pod: str = "p", **annotations: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": pod, "annotations": annotations},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    }


async def test_binding_assigns_the_node_once(client: httpx.AsyncClient) -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    assert (await client.post(PODS, json=pod)).status_code == 201
    done = await client.post(f"{PODS}/p/binding", json=binding("n1", why="test"))
    assert done.status_code == 201, done.text
    assert done.json()["status"] == "Success"
    bound = (await client.get(f"{PODS}/p")).json()
    assert bound["spec"]["nodeName"] == "n1"
    assert bound["metadata"]["annotations"] == {"why": "test"}
    scheduled = [c for c in bound["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert [c["status"] for c in scheduled] == ["True"]

    again = await client.post(f"{PODS}/p/binding", json=binding("n2"))
    assert again.status_code == 409
    assert 'already assigned to node "n1"' in again.json()["message"]


async def test_a_binding_without_a_target_names_the_field(client: httpx.AsyncClient) -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    assert (await client.post(PODS, json=pod)).status_code == 201
    bad = await client.post(f"{PODS}/p/binding", json={"kind": "Binding", "target": {}})
    assert bad.status_code == 422
    assert bad.json()["details"]["causes"][0]["field"] == "target.name"
    missing = await client.post(f"{PODS}/nope/binding", json=binding("n1", pod="nope"))
    assert missing.status_code == 404
