"""``pods/log`` and ``pods/exec`` in the API server (memory backend, in process), with a
recording connector: what the API decides itself before any node is asked."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest

from corral.apiserver import (
    add_node_connector,
)
from corral.machinery.status import BadRequest
from inprocess import inprocess_api

PODS = "/api/v1/namespaces/default/pods"


class Recorder:
    """A connector for node ``near``: logs are the options it was given."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def serves(self, node_name: str) -> bool:
        return node_name == "near"

    async def container_logs(
        self,
        pod: Mapping[str, Any],
        container: str,
        *,
        follow: bool = False,
        previous: bool = False,
        timestamps: bool = False,
        tail_lines: int | None = None,
        limit_bytes: int | None = None,
        since: float | None = None,
    ) -> AsyncIterator[bytes]:
        call = {
            "container": container,
            "follow": follow,
            "previous": previous,
            "timestamps": timestamps,
            "tail_lines": tail_lines,
            "limit_bytes": limit_bytes,
            "since": since,
        }
        self.calls.append(call)

        async def chunks() -> AsyncIterator[bytes]:
            yield b"one\n"
            yield b"two\n"

        return chunks()

    async def container_stream(
        self, pod: Mapping[str, Any], container: str, subresource: str
    ) -> None:
        raise BadRequest(f"no {subresource} for {container or 'ports'}")


@pytest.fixture
async def setup() -> AsyncIterator[tuple[httpx.AsyncClient, Recorder]]:
    async with inprocess_api() as api:
        recorder = Recorder()
        add_node_connector(api.kube.api.parts, recorder)
        for node in ("near", "far"):
            made = await api.http.post("/api/v1/nodes", json={"metadata": {"name": node}})
            assert made.status_code == 201, made.text
        yield api.http, recorder


async def pod(client: httpx.AsyncClient, name: str, node: str, *containers: str) -> None:
    spec: dict[str, Any] = {
        "containers": [{"name": c, "image": "nginx"} for c in containers or ("app",)]
    }
    if node:
        spec["nodeName"] = node
    made = await client.post(PODS, json={"metadata": {"name": name}, "spec": spec})
    assert made.status_code == 201, made.text


def message(response: httpx.Response) -> str:
    return str(response.json()["message"])


async def test_logs_reach_the_connector_with_the_options(
    setup: tuple[httpx.AsyncClient, Recorder],
) -> None:
    client, recorder = setup
    await pod(client, "p", "near")
    answer = await client.get(
        f"{PODS}/p/log",
        params={"tailLines": "3", "limitBytes": "9", "timestamps": "true", "sinceSeconds": "10"},
    )
    assert answer.status_code == 200
    assert answer.text == "one\ntwo\n"
    assert answer.headers["content-type"].startswith("text/plain")
    (call,) = recorder.calls
    since = call.pop("since")
    assert abs(since - (time.time() - 10)) < 5
    assert call == {
        "container": "app",
        "follow": False,
        "previous": False,
        "timestamps": True,
        "tail_lines": 3,
        "limit_bytes": 9,
    }
    streamed = await client.get(
        f"{PODS}/p/log", params={"follow": "1", "sinceTime": "2024-01-02T03:04:05Z"}
    )
    assert streamed.text == "one\ntwo\n"
    assert recorder.calls[-1]["follow"] is True
    assert recorder.calls[-1]["since"] == 1704164645


async def test_log_options_are_checked(setup: tuple[httpx.AsyncClient, Recorder]) -> None:
    client, recorder = setup
    await pod(client, "p", "near")
    for params, code, text in (
        ({"tailLines": "-1"}, 422, "tailLines: Invalid value: -1"),
        ({"limitBytes": "0"}, 422, "limitBytes: Invalid value: 0"),
        ({"sinceSeconds": "0"}, 422, "sinceSeconds: Invalid value: 0"),
        (
            {"sinceSeconds": "5", "sinceTime": "2024-01-02T03:04:05Z"},
            422,
            "at most one of `sinceTime` or `sinceSeconds` may be specified",
        ),
        ({"follow": "maybe"}, 400, "invalid value for follow"),
        ({"tailLines": "x"}, 400, "invalid value for tailLines"),
        ({"container": "nope"}, 400, "container nope is not valid for pod p"),
    ):
        answer = await client.get(f"{PODS}/p/log", params=params)
        assert answer.status_code == code, (params, answer.text)
        assert text in message(answer), (params, answer.text)
    assert recorder.calls == []


async def test_where_the_pod_runs(setup: tuple[httpx.AsyncClient, Recorder]) -> None:
    client, _ = setup
    await pod(client, "loose", "")
    answer = await client.get(f"{PODS}/loose/log")
    assert answer.status_code == 400
    assert message(answer) == "pod loose does not have a host assigned"
    await pod(client, "ghost", "no-such-node")
    answer = await client.get(f"{PODS}/ghost/log")
    assert answer.status_code == 404
    assert message(answer) == 'nodes "no-such-node" not found'
    await pod(client, "far", "far")
    answer = await client.get(f"{PODS}/far/log")
    assert answer.status_code == 500
    assert 'error dialing backend: no node agent serves node "far"' in message(answer)
    answer = await client.get(f"{PODS}/missing/log")
    assert answer.status_code == 404
    await pod(client, "duo", "near", "a", "b")
    answer = await client.get(f"{PODS}/duo/log")
    assert answer.status_code == 400
    assert message(answer) == "a container name must be specified for pod duo, choose one of: [a b]"


async def test_exec_attach_portforward(setup: tuple[httpx.AsyncClient, Recorder]) -> None:
    client, _ = setup
    await pod(client, "p", "near")
    answer = await client.post(f"{PODS}/p/exec", params={"command": "ls"})
    assert answer.status_code == 400
    assert message(answer) == "you must specify at least 1 of stdin, stdout, stderr"
    answer = await client.post(f"{PODS}/p/exec", params={"command": "ls", "stdout": "true"})
    assert answer.status_code == 400
    assert message(answer) == "no exec for app"
    answer = await client.get(f"{PODS}/p/attach", params={"stdin": "true"})
    assert message(answer) == "no attach for app"
    answer = await client.post(f"{PODS}/p/portforward", params={"ports": "80"})
    assert message(answer) == "no portforward for ports"
    answer = await client.put(f"{PODS}/p/log", json={})
    assert answer.status_code == 405


async def test_discovery_lists_the_pod_subresources(
    setup: tuple[httpx.AsyncClient, Recorder],
) -> None:
    client, _ = setup
    resources = (await client.get("/api/v1")).json()["resources"]
    verbs = {r["name"]: r["verbs"] for r in resources if r["name"].startswith("pods/")}
    assert verbs["pods/log"] == ["get"]
    assert verbs["pods/exec"] == ["create", "get"]
    assert verbs["pods/attach"] == ["create", "get"]
    assert verbs["pods/portforward"] == ["create", "get"]
