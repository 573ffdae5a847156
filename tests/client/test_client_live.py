"""The client against one real ``corral server`` over TLS, configured from its kubeconfig.

A small watch-cache ring (``CORRAL_WATCH_CACHE_SIZE``) lets a watch from an
old revision meet 410 Expired quickly. No fixed sleeps: watches, and polls
with deadlines.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import polling
from corral.client import (
    Client,
    ClusterConfig,
    ConnectionFailed,
    NoMatchError,
    PatchType,
    Preconditions,
    ResourceRef,
    RetryPolicy,
    TLSError,
    Watch,
    WatchEvent,
    in_cluster_config,
    load_kubeconfig,
)
from corral.machinery.status import (
    AlreadyExists,
    Conflict,
    Expired,
    Gone,
    NotFound,
    Unauthorized,
    UnsupportedMediaType,
)
from serverproc import CorralServer, free_port, module_server

from .fakes import drain
from .tcpproxy import CuttableProxy

RING = 8
CMS = ResourceRef("", "v1", "configmaps", kind="ConfigMap")
NAMESPACES = ResourceRef("", "v1", "namespaces", namespaced=False, kind="Namespace")


server = module_server("client", env={"CORRAL_WATCH_CACHE_SIZE": str(RING)})


@pytest.fixture
async def client(server: CorralServer) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(server.kubeconfig_path) as c:
        yield c


@pytest.fixture
async def ns(client: Client) -> str:
    name = "t-" + uuid.uuid4().hex[:8]
    await client.create(NAMESPACES, {"metadata": {"name": name}})
    return name


def cm(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}}, "data": data}


eventually = partial(polling.eventually, deadline=10.0, interval=0.02)


async def test_crud_of_configmaps(client: Client, ns: str) -> None:
    created = await client.create(CMS, cm("a", k="v"), namespace=ns)
    assert created["metadata"]["namespace"] == ns
    assert created["data"] == {"k": "v"}
    got = await client.get(CMS, "a", namespace=ns)
    assert got["metadata"]["uid"] == created["metadata"]["uid"]

    got["data"]["k"] = "v2"
    updated = await client.update(CMS, got)
    assert updated["data"] == {"k": "v2"}

    merged = await client.patch(CMS, "a", {"data": {"m": "1"}}, namespace=ns)
    assert merged["data"] == {"k": "v2", "m": "1"}
    strategic = await client.patch(
        CMS, "a", {"data": {"s": "1"}}, patch_type=PatchType.STRATEGIC, namespace=ns
    )
    assert strategic["data"]["s"] == "1"
    version = strategic["metadata"]["resourceVersion"]
    jsonp = await client.patch(
        CMS,
        "a",
        [
            {"op": "test", "path": "/metadata/resourceVersion", "value": version},
            {"op": "remove", "path": "/data/m"},
        ],
        patch_type=PatchType.JSON,
        namespace=ns,
    )
    assert "m" not in jsonp["data"]

    # Server-side apply is not served yet (415); the request must still be well formed
    # and its failure the matching StatusError. Once it is served, the result is checked.
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "b"},
        "data": {"x": "1"},
    }
    try:
        applied = await client.apply(CMS, manifest, field_manager="corral-test", namespace=ns)
    except UnsupportedMediaType:
        pass
    else:
        assert applied["data"] == {"x": "1"}
        assert any(m["manager"] == "corral-test" for m in applied["metadata"]["managedFields"])

    dry = await client.create(CMS, cm("dry"), namespace=ns, dry_run=True)
    assert dry["metadata"]["name"] == "dry"
    with pytest.raises(NotFound):
        await client.get(CMS, "dry", namespace=ns)

    await client.delete(CMS, "a", namespace=ns)
    with pytest.raises(NotFound) as info:
        await client.get(CMS, "a", namespace=ns)
    assert info.value.code == 404
    assert info.value.details is not None
    assert info.value.details.name == "a"
    with pytest.raises(NotFound):
        await client.delete(CMS, "a", namespace=ns)


async def test_conflicts(client: Client, ns: str) -> None:
    first = await client.create(CMS, cm("c", k="1"), namespace=ns)
    with pytest.raises(AlreadyExists):
        await client.create(CMS, cm("c"), namespace=ns)
    await client.update(CMS, {**first, "data": {"k": "2"}})
    with pytest.raises(Conflict) as info:
        await client.update(CMS, {**first, "data": {"k": "stale"}})
    assert info.value.code == 409
    assert "the object has been modified" in str(info.value)
    stale = Preconditions(resource_version=first["metadata"]["resourceVersion"])
    with pytest.raises(Conflict):
        await client.delete(CMS, "c", namespace=ns, preconditions=stale)


async def test_pagination_and_label_selectors(client: Client, ns: str) -> None:
    for i in range(25):
        colour = "red" if i % 5 == 0 else "blue"
        await client.create(CMS, cm(f"p{i:02d}", {"colour": colour}), namespace=ns)
    first = await client.list(CMS, namespace=ns, limit=10)
    assert len(first["items"]) == 10
    assert first["metadata"]["continue"]
    pages = [p async for p in client.list_pages(CMS, namespace=ns, page_size=10)]
    assert [len(p["items"]) for p in pages] == [10, 10, 5]
    names = [
        i["metadata"]["name"] async for i in client.list_items(CMS, namespace=ns, page_size=10)
    ]
    assert names == [f"p{i:02d}" for i in range(25)]

    red = await client.list(CMS, namespace=ns, label_selector="colour=red")
    assert [i["metadata"]["name"] for i in red["items"]] == ["p00", "p05", "p10", "p15", "p20"]
    not_red = await client.list(CMS, namespace=ns, label_selector="colour!=red")
    assert len(not_red["items"]) == 20

    gone = await client.delete_collection(CMS, namespace=ns, label_selector="colour=blue")
    assert gone["kind"] == "ConfigMapList"
    left = await client.list(CMS, namespace=ns)
    assert len(left["items"]) == 5


def has_event(seen: list[WatchEvent], name: str) -> bool:
    return any(e.object["metadata"]["name"] == name for e in seen)


def opened_since(watch: Watch, streams: int) -> bool:
    """True once a stream after the ``streams``-th has been opened (the watch resumed)."""
    return watch.streams > streams


async def test_watch_resumes_across_server_closed_streams(client: Client, ns: str) -> None:
    start = (await client.list(CMS, namespace=ns))["metadata"]["resourceVersion"]
    seen: list[WatchEvent] = []
    watch = client.watch(CMS, namespace=ns, resource_version=start, timeout_seconds=1)

    async def consume() -> None:
        async for e in watch:
            seen.append(e)

    task = asyncio.create_task(consume())
    try:
        await eventually(partial(opened_since, watch, 0))
        for name in ("w1", "w2", "w3"):
            streams = watch.streams
            await client.create(CMS, cm(name), namespace=ns)
            await eventually(partial(has_event, seen, name))
            # Let the server end this stream (timeoutSeconds=1) and the watch reopen it.
            await eventually(partial(opened_since, watch, streams))
        # A whole further stream, resumed after w3: nothing is delivered twice.
        await eventually(partial(opened_since, watch, watch.streams + 1))
        assert [(e.type, e.object["metadata"]["name"]) for e in seen] == [
            ("ADDED", "w1"),
            ("ADDED", "w2"),
            ("ADDED", "w3"),
        ]
        assert watch.streams >= 4
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await watch.aclose()


async def test_watch_from_a_compacted_revision_raises_expired(client: Client, ns: str) -> None:
    start = (await client.list(CMS, namespace=ns))["metadata"]["resourceVersion"]
    for i in range(RING * 2):
        await client.create(CMS, cm(f"e{i}"), namespace=ns)
    with pytest.raises(Expired) as info:
        await drain(client.watch(CMS, namespace=ns, resource_version=start))
    assert isinstance(info.value, Gone)
    assert info.value.code == 410


async def test_discovery(client: Client) -> None:
    assert await client.discovery.resolve("ConfigMap", "v1") == CMS
    deploy = await client.discovery.resolve("Deployment")
    assert (deploy.group, deploy.version, deploy.resource) == ("apps", "v1", "deployments")
    assert deploy.namespaced
    namespace = await client.discovery.for_object({"apiVersion": "v1", "kind": "Namespace"})
    assert namespace == NAMESPACES
    pods = await client.discovery.resolve_resource("pods", "v1")
    assert pods.kind == "Pod"
    with pytest.raises(NoMatchError):
        await client.discovery.resolve("Nonsense")
    with pytest.raises(NoMatchError):
        await client.discovery.resolve("Deployment", "nothing.example/v9")


async def test_in_cluster_token_file_is_reread(server: CorralServer, tmp_path: Path) -> None:
    root = tmp_path / "sa"
    root.mkdir()
    (root / "token").write_text(server.token)
    (root / "ca.crt").write_bytes(server.ca_path.read_bytes())
    (root / "namespace").write_text("default")
    url = urlsplit(server.https_url)
    env = {"KUBERNETES_SERVICE_HOST": str(url.hostname), "KUBERNETES_SERVICE_PORT": str(url.port)}
    async with Client.from_config(in_cluster_config(root, env)) as c:
        assert c.namespace == "default"
        await c.get(NAMESPACES, "default")
        (root / "token").write_text("rotated-to-something-invalid")
        with pytest.raises(Unauthorized):
            await c.get(NAMESPACES, "default")


async def test_tls_trust_and_server_name(server: CorralServer) -> None:
    url = urlsplit(server.https_url)
    trusted = ClusterConfig(
        server=f"https://localhost:{url.port}", ca_file=server.ca_path, token=server.token
    )
    async with Client.from_config(trusted) as c:
        await c.get(NAMESPACES, "default")
    renamed = replace(trusted, server=server.https_url, tls_server_name="localhost")
    async with Client.from_config(renamed) as c:
        await c.get(NAMESPACES, "default")
    wrong_name = replace(renamed, tls_server_name="not-the-server.example")
    untrusted = replace(trusted, ca_file=None)  # the system store does not know corral's CA
    for config in (wrong_name, untrusted):
        async with Client.from_config(config) as c:
            with pytest.raises(TLSError):
                await c.get(NAMESPACES, "default")
    insecure = replace(untrusted, insecure_skip_tls_verify=True)
    async with Client.from_config(insecure) as c:
        await c.get(NAMESPACES, "default")


async def test_nothing_listening_is_connection_failed() -> None:
    config = ClusterConfig(server=f"https://127.0.0.1:{free_port()}", insecure_skip_tls_verify=True)
    fast = RetryPolicy(max_attempts=2, base_delay=0.01)
    async with Client.from_config(config, retry=fast) as c:
        with pytest.raises(ConnectionFailed):
            await c.get(NAMESPACES, "default")
        with pytest.raises(ConnectionFailed):
            await c.create(NAMESPACES, {"metadata": {"name": "x"}})


async def test_watch_resumes_after_a_dropped_connection(
    server: CorralServer, client: Client, ns: str
) -> None:
    start = (await client.list(CMS, namespace=ns))["metadata"]["resourceVersion"]
    seen: list[WatchEvent] = []
    async with CuttableProxy(int(urlsplit(server.https_url).port or 0)) as proxy:
        direct = load_kubeconfig(server.kubeconfig_path)
        config = replace(direct, server=f"https://127.0.0.1:{proxy.port}")
        async with Client.from_config(config, retry=RetryPolicy(base_delay=0.02)) as proxied:
            watch = proxied.watch(CMS, namespace=ns, resource_version=start)

            async def consume() -> None:
                async for e in watch:
                    seen.append(e)

            task = asyncio.create_task(consume())
            try:
                await eventually(partial(opened_since, watch, 0))
                await client.create(CMS, cm("d1"), namespace=ns)
                await eventually(partial(has_event, seen, "d1"))
                proxy.cut()
                await client.create(CMS, cm("d2"), namespace=ns)
                await eventually(partial(has_event, seen, "d2"))
                assert watch.streams == 2
                await client.create(CMS, cm("d3"), namespace=ns)
                await eventually(partial(has_event, seen, "d3"))
            finally:
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                await watch.aclose()
    assert [(e.type, e.object["metadata"]["name"]) for e in seen] == [
        ("ADDED", "d1"),
        ("ADDED", "d2"),
        ("ADDED", "d3"),
    ]
