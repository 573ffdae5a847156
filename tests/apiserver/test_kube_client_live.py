"""The Kubernetes API of a real ``corral server``, driven by the official Python client.

One server for the module, with a tiny watch-cache ring (so that a watch
from an old revision meets 410 Expired quickly). No fixed sleeps: watches
and deadlines only.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config, watch  # type: ignore[import-untyped]
from kubernetes.client.rest import ApiException  # type: ignore[import-untyped]

from serverproc import CorralServer, module_server

RING = 8


server = module_server("kube", env={"CORRAL_WATCH_CACHE_SIZE": str(RING)})


@pytest.fixture(scope="module")
def api(server: CorralServer) -> Iterator[Any]:
    api_client = config.new_client_from_config(config_file=str(server.kubeconfig_path))
    # No idle kept-alive connections at the end: the server's TLS shutdown would
    # wait for the client to close them (see docs/apiserver.md, "Shutdown").
    api_client.set_default_header("Connection", "close")
    yield api_client
    api_client.close()


@pytest.fixture(scope="module")
def core(api: Any) -> Any:
    return client.CoreV1Api(api)


@pytest.fixture
def ns(core: Any) -> str:
    name = "t-" + uuid.uuid4().hex[:8]
    core.create_namespace({"metadata": {"name": name}})
    return name


def cm(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}}, "data": data}


def status_of(exc: ApiException) -> dict[str, Any]:
    import json

    body: dict[str, Any] = json.loads(exc.body)
    return body


def test_configmap_crud(core: Any, ns: str) -> None:
    created = core.create_namespaced_config_map(ns, cm("a", k="v"))
    assert created.metadata.uid
    assert created.metadata.resource_version
    assert created.metadata.creation_timestamp is not None
    got = core.read_namespaced_config_map("a", ns)
    assert got.data == {"k": "v"}
    got.data["k"] = "w"
    updated = core.replace_namespaced_config_map("a", ns, got)
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)
    patched = core.patch_namespaced_config_map("a", ns, {"data": {"x": "y"}})
    assert patched.data == {"k": "w", "x": "y"}
    listed = core.list_namespaced_config_map(ns)
    assert [i.metadata.name for i in listed.items] == ["a"]
    assert listed.metadata.resource_version
    core.delete_namespaced_config_map("a", ns)
    with pytest.raises(ApiException) as info:
        core.read_namespaced_config_map("a", ns)
    assert info.value.status == 404


def test_generate_name(core: Any, ns: str) -> None:
    made = core.create_namespaced_config_map(ns, {"metadata": {"generateName": "gen-"}})
    assert made.metadata.name.startswith("gen-")
    assert len(made.metadata.name) == 9


def test_namespace_must_exist(core: Any) -> None:
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map("no-such-ns", cm("a"))
    assert info.value.status == 404
    assert status_of(info.value)["message"] == 'namespaces "no-such-ns" not found'


def test_label_and_field_selectors(core: Any, ns: str) -> None:
    core.create_namespaced_config_map(ns, cm("one", {"app": "web", "tier": "a"}))
    core.create_namespaced_config_map(ns, cm("two", {"app": "web", "tier": "b"}))
    core.create_namespaced_config_map(ns, cm("three", {"app": "db"}))

    def names(**kw: Any) -> list[str]:
        return [i.metadata.name for i in core.list_namespaced_config_map(ns, **kw).items]

    assert names(label_selector="app=web") == ["one", "two"]
    assert names(label_selector="app in (web),tier!=a") == ["two"]
    assert names(label_selector="!tier") == ["three"]
    assert names(field_selector="metadata.name=two") == ["two"]
    assert names(field_selector="metadata.name!=two", label_selector="app=web") == ["one"]
    assert names(label_selector="app=web", resource_version="0") == ["one", "two"]
    with pytest.raises(ApiException) as info:
        core.list_namespaced_config_map(ns, field_selector="spec.nope=1")
    assert info.value.status == 400
    assert "field label not supported: spec.nope" in status_of(info.value)["message"]


def test_pagination_is_a_consistent_snapshot(core: Any, ns: str) -> None:
    for i in range(7):
        core.create_namespaced_config_map(ns, cm(f"p{i}"))
    first = core.list_namespaced_config_map(ns, limit=3)
    assert [i.metadata.name for i in first.items] == ["p0", "p1", "p2"]
    token = first.metadata._continue
    assert token
    core.create_namespaced_config_map(ns, cm("p3a"))
    core.delete_namespaced_config_map("p5", ns)
    seen = [i.metadata.name for i in first.items]
    while token:
        page = core.list_namespaced_config_map(ns, limit=3, _continue=token)
        assert page.metadata.resource_version == first.metadata.resource_version
        seen += [i.metadata.name for i in page.items]
        token = page.metadata._continue
    assert seen == [f"p{i}" for i in range(7)]


def test_conflict_and_already_exists(core: Any, ns: str) -> None:
    first = core.create_namespaced_config_map(ns, cm("c", k="1"))
    core.patch_namespaced_config_map("c", ns, {"data": {"k": "2"}})
    first.data["k"] = "3"
    with pytest.raises(ApiException) as info:
        core.replace_namespaced_config_map("c", ns, first)
    assert info.value.status == 409
    assert status_of(info.value)["reason"] == "Conflict"
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map(ns, cm("c"))
    assert info.value.status == 409
    assert status_of(info.value)["reason"] == "AlreadyExists"


def test_invalid_name(core: Any, ns: str) -> None:
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map(ns, cm("Bad_Name"))
    assert info.value.status == 422
    status = status_of(info.value)
    assert status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "metadata.name"


def test_dry_run_create_stores_nothing(core: Any, ns: str) -> None:
    made = core.create_namespaced_config_map(ns, cm("dry"), dry_run="All")
    assert made.metadata.name == "dry"
    with pytest.raises(ApiException) as info:
        core.read_namespaced_config_map("dry", ns)
    assert info.value.status == 404


def test_finalizers_hold_the_object(core: Any, ns: str) -> None:
    body = cm("fin")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    core.create_namespaced_config_map(ns, body)
    core.delete_namespaced_config_map("fin", ns)
    held = core.read_namespaced_config_map("fin", ns)
    assert held.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("fin", ns, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as info:
        core.read_namespaced_config_map("fin", ns)
    assert info.value.status == 404


def test_namespace_delete_terminates(core: Any) -> None:
    core.create_namespace({"metadata": {"name": "doomed"}})
    assert core.read_namespace("doomed").spec.finalizers == ["kubernetes"]
    core.delete_namespace("doomed")
    assert core.read_namespace("doomed").status.phase == "Terminating"
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map("doomed", cm("late"))
    assert info.value.status == 403
    assert "because it is being terminated" in status_of(info.value)["message"]


def deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }


def test_generation_and_status_split(api: Any, ns: str) -> None:
    apps = client.AppsV1Api(api)
    made = apps.create_namespaced_deployment(ns, deployment("d"))
    assert made.metadata.generation == 1
    labelled = apps.patch_namespaced_deployment("d", ns, {"metadata": {"labels": {"x": "y"}}})
    assert labelled.metadata.generation == 1
    scaled = apps.patch_namespaced_deployment("d", ns, {"spec": {"replicas": 3}})
    assert scaled.metadata.generation == 2
    # The main resource ignores status; /status ignores everything else.
    ignored = apps.patch_namespaced_deployment("d", ns, {"status": {"replicas": 9}})
    assert ignored.status is None
    status = apps.patch_namespaced_deployment_status(
        "d", ns, {"status": {"replicas": 5}, "spec": {"replicas": 7}}
    )
    assert status.status.replicas == 5
    assert status.spec.replicas == 3
    assert status.metadata.generation == 2


def test_watch_resumes_from_resource_version(core: Any, ns: str) -> None:
    start = core.create_namespaced_config_map(ns, cm("w1")).metadata.resource_version
    core.patch_namespaced_config_map("w1", ns, {"data": {"a": "1"}})
    core.create_namespaced_config_map(ns, cm("w2"))
    core.delete_namespaced_config_map("w1", ns)
    seen = []
    w = watch.Watch()
    for event in w.stream(
        core.list_namespaced_config_map, ns, resource_version=start, timeout_seconds=5
    ):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 3:
            w.stop()
    assert seen == [("MODIFIED", "w1"), ("ADDED", "w2"), ("DELETED", "w1")]


def test_watch_stream_sees_live_changes(core: Any, ns: str) -> None:
    core.create_namespaced_config_map(ns, cm("before"))
    w = watch.Watch()
    seen = []
    for event in w.stream(core.list_namespaced_config_map, ns, timeout_seconds=10):
        seen.append((event["type"], event["object"].metadata.name))
        if event["object"].metadata.name == "before":
            core.create_namespaced_config_map(ns, cm("after"))
        if event["object"].metadata.name == "after":
            w.stop()
    assert seen == [("ADDED", "before"), ("ADDED", "after")]


def test_watch_from_too_old_revision_is_expired(core: Any, ns: str) -> None:
    old = core.create_namespaced_config_map(ns, cm("old")).metadata.resource_version
    for i in range(RING + 2):
        core.patch_namespaced_config_map("old", ns, {"data": {"n": str(i)}})
    w = watch.Watch()
    with pytest.raises(ApiException) as info:
        for _ in w.stream(
            core.list_namespaced_config_map, ns, resource_version=old, timeout_seconds=5
        ):
            pass
    assert info.value.status == 410


def test_watch_selector_transitions(server: CorralServer, core: Any, ns: str) -> None:
    core.create_namespaced_config_map(ns, cm("s", {"pick": "no"}))
    rv = core.read_namespaced_config_map("s", ns).metadata.resource_version
    core.patch_namespaced_config_map("s", ns, {"metadata": {"labels": {"pick": "yes"}}})
    core.patch_namespaced_config_map("s", ns, {"data": {"a": "b"}})
    core.patch_namespaced_config_map("s", ns, {"metadata": {"labels": {"pick": "no"}}})
    with (
        server.client(server.token) as c,
        c.stream(
            "GET",
            f"/api/v1/namespaces/{ns}/configmaps",
            params={
                "watch": "1",
                "resourceVersion": rv,
                "labelSelector": "pick=yes",
                "timeoutSeconds": "2",
            },
        ) as response,
    ):
        import orjson

        types = [orjson.loads(line)["type"] for line in response.iter_lines() if line]
    assert types == ["ADDED", "MODIFIED", "DELETED"]


def test_send_initial_events_then_bookmark(server: CorralServer, core: Any, ns: str) -> None:
    core.create_namespaced_config_map(ns, cm("i1"))
    core.create_namespaced_config_map(ns, cm("i2"))
    deadline = time.monotonic() + 10
    with (
        server.client(server.token) as c,
        c.stream(
            "GET",
            f"/api/v1/namespaces/{ns}/configmaps",
            params={
                "watch": "true",
                "sendInitialEvents": "true",
                "resourceVersionMatch": "NotOlderThan",
                "allowWatchBookmarks": "true",
                "timeoutSeconds": "5",
            },
        ) as response,
    ):
        import orjson

        events = []
        for line in response.iter_lines():
            if line:
                events.append(orjson.loads(line))
            if (events and events[-1]["type"] == "BOOKMARK") or time.monotonic() > deadline:
                break
    assert [e["type"] for e in events] == ["ADDED", "ADDED", "BOOKMARK"]
    annotations = events[-1]["object"]["metadata"]["annotations"]
    assert annotations == {"k8s.io/initial-events-end": "true"}
