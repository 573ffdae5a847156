"""The generic store's semantics against the in-memory backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from corral.apiserver.bootstrap import ensure_system_namespaces
from corral.apiserver.registry import Registry, ResourceType
from corral.apiserver.store import (
    create_object,
    delete_object,
    encode_for_storage,
    get_object,
    list_objects,
    mutate_object,
    update_object,
    with_resource_version,
)
from corral.apiserver.store.meta import GENERATE_ALPHABET
from corral.machinery.status import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Expired,
    Forbidden,
    Invalid,
    NotFound,
)
from corral.storage import MemoryBackend

REGISTRY = Registry.builtin()


def rt(resource: str, group: str = "") -> ResourceType:
    found = REGISTRY.lookup(group, "v1", resource)
    assert found is not None
    return found


CM, NS, DEPLOY = rt("configmaps"), rt("namespaces"), rt("deployments", "apps")


@pytest.fixture
async def backend() -> AsyncIterator[MemoryBackend]:
    b = MemoryBackend()
    await b.start()
    await ensure_system_namespaces(b, REGISTRY)
    yield b
    await b.close()


def cm(name: str = "a", **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, **extra}, "data": {"k": "v"}}


def test_splice_matches_decode() -> None:
    value = encode_for_storage({"kind": "X", "metadata": {"name": "n", "resourceVersion": "9"}})
    assert b"resourceVersion" not in value
    assert value.startswith(b'{"kind":"X","metadata":')
    served = orjson.loads(with_resource_version(value, 17))
    assert served["metadata"] == {"resourceVersion": "17", "name": "n"}


async def test_create_sets_server_metadata(backend: MemoryBackend) -> None:
    made = await create_object(backend, CM, "default", cm(), dry_run=False)
    meta = made.obj["metadata"]
    assert meta["uid"]
    assert meta["creationTimestamp"].endswith("Z")
    assert meta["namespace"] == "default"
    assert "generation" not in meta
    assert made.obj["apiVersion"] == "v1"
    assert made.obj["kind"] == "ConfigMap"
    assert orjson.loads(made.body) == made.obj
    with pytest.raises(AlreadyExists):
        await create_object(backend, CM, "default", cm(), dry_run=False)


async def test_generate_name(backend: MemoryBackend) -> None:
    made = await create_object(
        backend, CM, "default", {"metadata": {"generateName": "x-"}}, dry_run=False
    )
    suffix = made.obj["metadata"]["name"][2:]
    assert len(suffix) == 5
    assert set(suffix) <= set(GENERATE_ALPHABET)


async def test_create_checks(backend: MemoryBackend) -> None:
    with pytest.raises(NotFound, match='namespaces "nope" not found'):
        await create_object(backend, CM, "nope", cm(), dry_run=False)
    with pytest.raises(BadRequest):
        await create_object(backend, CM, "default", cm(namespace="other"), dry_run=False)
    with pytest.raises(Invalid) as info:
        await create_object(backend, CM, "default", cm("UPPER"), dry_run=False)
    assert info.value.errors[0].field == "metadata.name"
    with pytest.raises(Invalid):
        await create_object(backend, CM, "default", {"metadata": {}}, dry_run=False)
    with pytest.raises(Invalid):
        await create_object(backend, NS, "", {"metadata": {"name": "a.b"}}, dry_run=False)
    with pytest.raises(BadRequest):
        await create_object(backend, CM, "default", {**cm(), "kind": "Secret"}, dry_run=False)


async def test_dry_run_stores_nothing(backend: MemoryBackend) -> None:
    made = await create_object(backend, CM, "default", cm(), dry_run=True)
    assert made.obj["metadata"]["name"] == "a"
    with pytest.raises(NotFound):
        await get_object(backend, CM, "default", "a")


async def test_update_conflict_and_unconditional(backend: MemoryBackend) -> None:
    made = await create_object(backend, CM, "default", cm(), dry_run=False)
    stale = made.obj
    second = await update_object(
        backend, CM, "default", "a", {**stale, "data": {"k": "2"}}, dry_run=False
    )
    with pytest.raises(Conflict):
        await update_object(backend, CM, "default", "a", {**stale, "data": {"k": "3"}})
    body = {**second.obj, "data": {"k": "4"}}
    del body["metadata"]["resourceVersion"]
    third = await update_object(backend, CM, "default", "a", body)
    assert third.obj["data"] == {"k": "4"}
    assert third.obj["metadata"]["uid"] == made.obj["metadata"]["uid"]
    same = await update_object(backend, CM, "default", "a", third.obj)
    assert same.obj["metadata"]["resourceVersion"] == third.obj["metadata"]["resourceVersion"]


def deployment() -> dict[str, Any]:
    labels = {"app": "d"}
    template = {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
    }
    spec = {"replicas": 1, "selector": {"matchLabels": labels}, "template": template}
    return {"metadata": {"name": "d"}, "spec": spec, "status": {"replicas": 5}}


async def test_generation_and_status_split(backend: MemoryBackend) -> None:
    made = await create_object(backend, DEPLOY, "default", deployment(), dry_run=False)
    assert made.obj["metadata"]["generation"] == 1
    assert "status" not in made.obj

    def relabel(obj: dict[str, Any]) -> dict[str, Any]:
        obj["metadata"]["labels"] = {"a": "b"}
        obj["status"] = {"replicas": 3}
        return obj

    relabelled = await mutate_object(backend, DEPLOY, "default", "d", relabel)
    assert relabelled.obj["metadata"]["generation"] == 1
    assert "status" not in relabelled.obj

    def status(obj: dict[str, Any]) -> dict[str, Any]:
        obj["status"] = {"replicas": 3}
        obj["spec"]["replicas"] = 9
        return obj

    st = await mutate_object(backend, DEPLOY, "default", "d", status, subresource="status")
    assert st.obj["status"] == {"replicas": 3}
    assert st.obj["spec"]["replicas"] == 1

    def scale(obj: dict[str, Any]) -> dict[str, Any]:
        obj["spec"]["replicas"] = 2
        return obj

    scaled = await mutate_object(backend, DEPLOY, "default", "d", scale)
    assert scaled.obj["metadata"]["generation"] == 2
    assert scaled.obj["status"] == {"replicas": 3}


async def test_finalizers_and_preconditions(backend: MemoryBackend) -> None:
    made = await create_object(backend, CM, "default", cm(finalizers=["x/y"]), dry_run=False)
    with pytest.raises(Conflict, match="Precondition failed: UID"):
        await delete_object(backend, CM, "default", "a", {"preconditions": {"uid": "other"}})
    held, gone = await delete_object(backend, CM, "default", "a", {})
    assert not gone
    assert held.obj["metadata"]["deletionTimestamp"]
    assert held.obj["metadata"]["uid"] == made.obj["metadata"]["uid"]

    def release(obj: dict[str, Any]) -> dict[str, Any]:
        obj["metadata"]["finalizers"] = []
        return obj

    await mutate_object(backend, CM, "default", "a", release)
    with pytest.raises(NotFound):
        await get_object(backend, CM, "default", "a")


async def test_namespace_lifecycle(backend: MemoryBackend) -> None:
    made = await create_object(backend, NS, "", {"metadata": {"name": "n"}}, dry_run=False)
    assert made.obj["spec"] == {"finalizers": ["kubernetes"]}
    assert made.obj["status"] == {"phase": "Active"}
    marked, gone = await delete_object(backend, NS, "", "n", {})
    assert not gone
    assert marked.obj["status"]["phase"] == "Terminating"
    with pytest.raises(Forbidden, match="because it is being terminated"):
        await create_object(backend, CM, "n", cm(), dry_run=False)


async def test_list_pages_at_one_revision(backend: MemoryBackend) -> None:
    for i in range(5):
        await create_object(backend, CM, "default", cm(f"c{i}"), dry_run=False)
    first = await list_objects(backend, CM, "default", limit=2)
    assert len(first.items) == 2
    await create_object(backend, CM, "default", cm("c1a"), dry_run=False)
    second = await list_objects(
        backend, CM, "default", limit=2, continue_token=first.continue_token
    )
    names = [orjson.loads(i)["metadata"]["name"] for i in second.items]
    assert names == ["c2", "c3"]
    assert second.revision == first.revision
    picked = await list_objects(
        backend, CM, "", limit=1, predicate=lambda o: o["metadata"]["name"] == "c3"
    )
    assert [orjson.loads(i)["metadata"]["name"] for i in picked.items] == ["c3"]
    rest = await list_objects(
        backend,
        CM,
        "",
        limit=1,
        continue_token=picked.continue_token,
        predicate=lambda o: o["metadata"]["name"] == "c3",
    )
    assert rest.items == []
    assert not rest.continue_token
    await backend.compact(await backend.current_revision())
    with pytest.raises(Expired):
        await list_objects(backend, CM, "default", limit=2, continue_token=first.continue_token)


async def test_events_share_storage_in_two_shapes(backend: MemoryBackend) -> None:
    core_ev, new_ev = rt("events"), rt("events", "events.k8s.io")
    assert core_ev.storage_prefix == new_ev.storage_prefix
    await create_object(
        backend,
        core_ev,
        "default",
        {"metadata": {"name": "e1"}, "involvedObject": {"kind": "Pod"}, "message": "hi"},
        dry_run=False,
    )
    seen = await get_object(backend, new_ev, "default", "e1")
    assert seen.obj["apiVersion"] == "events.k8s.io/v1"
    assert seen.obj["regarding"] == {"kind": "Pod"}
    assert seen.obj["note"] == "hi"
    assert "message" not in seen.obj
    await create_object(
        backend,
        new_ev,
        "default",
        {"metadata": {"name": "e2"}, "regarding": {"kind": "Node"}, "note": "yo"},
        dry_run=False,
    )
    back = await get_object(backend, core_ev, "default", "e2")
    assert back.obj["apiVersion"] == "v1"
    assert back.obj["involvedObject"] == {"kind": "Node"}
    assert back.obj["message"] == "yo"
    kv = await backend.get(core_ev.key("default", "e2"))
    assert kv is not None
    assert kv.lease == 3600  # kube-apiserver's default --event-ttl
    page = await list_objects(backend, new_ev, "default")
    assert [orjson.loads(i)["apiVersion"] for i in page.items] == ["events.k8s.io/v1"] * 2


async def test_terminating_namespace_survives_updates(backend: MemoryBackend) -> None:
    await create_object(backend, NS, "", {"metadata": {"name": "n"}}, dry_run=False)
    await delete_object(backend, NS, "", "n", {})

    def label(obj: dict[str, Any]) -> dict[str, Any]:
        obj["metadata"]["labels"] = {"a": "b"}
        return obj

    await mutate_object(backend, NS, "", "n", label)
    labels = (await get_object(backend, NS, "", "n")).obj["metadata"]["labels"]
    assert labels == {"a": "b", "kubernetes.io/metadata.name": "n"}

    def finalize(obj: dict[str, Any]) -> dict[str, Any]:
        obj["spec"]["finalizers"] = []
        return obj

    kept = await mutate_object(backend, NS, "", "n", finalize)
    assert kept.obj["spec"]["finalizers"] == ["kubernetes"]
    await mutate_object(backend, NS, "", "n", finalize, subresource="finalize")
    with pytest.raises(NotFound):
        await get_object(backend, NS, "", "n")
    with pytest.raises(Forbidden, match="may not be deleted"):
        await delete_object(backend, NS, "", "default", {})
