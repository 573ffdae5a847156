"""Cluster health against a real downstream ``corral server`` reached directly.

The management side runs in-process (RBAC on, the health controllers acting as
``system:corral-cluster-health``); the downstream is a real ``corral server
--no-management --simulate-nodes 3`` with its controllers, reached with its
admin kubeconfig (a direct `ClusterAccess`, no tunnel). The test sets the
Cluster's ``Connected`` condition as the agent would, and checks what a user
sees: the Cluster's status, Events in its namespace, ClusterRoleBindings
downstream, and that a disconnected cluster leaves no task running.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import pytest

from corral.client import Client, ResourceRef, load_kubeconfig
from corral.client.dialing import ClusterAccess, ClusterUnavailable, Dialer
from corral.controller import get_condition
from corral.machinery.status import NotFound
from corral.management.clusterhealth import ClusterHealth, HealthOptions
from corral.management.clusterhealth.eventmirror import EventMirror
from corral.management.clusterhealth.kinds import CLUSTER_ROLE_BINDINGS, CLUSTERS, EVENTS
from corral.tunnel import DialRefused
from management.healthapi import HealthAPI, health_api
from polling import eventually
from serverproc import CorralServer, controller_args, running_server

pytestmark = pytest.mark.timeout(120)

DEPLOYMENTS = ResourceRef("apps", "v1", "deployments", kind="Deployment")
FAST = HealthOptions(
    write_interval=0.2,
    probe_interval=0.5,
    failing_probe_interval=1.0,
    probe_timeout=5.0,
    version_interval=60.0,
    binding_resync=60.0,
    restart_min=0.1,
    restart_max=1.0,
)
soon = functools.partial(eventually, deadline=30.0, interval=0.1)


@pytest.fixture(scope="module")
def downstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorralServer]:
    args = controller_args("*", "--no-management", "--simulate-nodes", "3")
    with running_server(tmp_path_factory.mktemp("downstream") / "data", args) as server:
        yield server


class TCPDialer:
    """A `Dialer` as the tunnel's, over plain TCP; remembers what it dialed."""

    def __init__(self) -> None:
        self.dialed: list[tuple[str, int]] = []

    async def dial(self, host: str, port: int) -> anyio.abc.ByteStream:
        self.dialed.append((host, port))
        return await anyio.connect_tcp(host, port)


class Access:
    """An `AccessSource` for the downstream: direct, or through ``dialer`` when set;
    ``broken`` makes it refuse."""

    def __init__(self, kubeconfig: Path) -> None:
        self.config = load_kubeconfig(kubeconfig)
        self.broken = ""
        self.dialer: Dialer | None = None

    async def __call__(self, cluster: str) -> ClusterAccess:
        if self.broken:
            raise ClusterUnavailable(f"cluster {cluster}: {self.broken}")
        return ClusterAccess(cluster, self.config, self.dialer)


@pytest.fixture
async def api() -> AsyncIterator[HealthAPI]:
    async with health_api() as api:
        await api.create_user("admin", global_admin=True)
        await api.create_user("alice")
        await api.create_user("bob")
        yield api


@pytest.fixture
async def down(downstream: CorralServer) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(downstream.kubeconfig_path) as client:
        yield client


@pytest.fixture
def access(downstream: CorralServer) -> Access:
    return Access(downstream.kubeconfig_path)


@pytest.fixture
async def health(api: HealthAPI, access: Access) -> AsyncIterator[ClusterHealth]:
    manager = ClusterHealth(api.controllers, access, api.authorizer, FAST)
    task = asyncio.create_task(manager.run())
    yield manager
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _cluster_tasks(), "tasks left behind after the manager stopped"


def _cluster_tasks(name: str = "") -> list[str]:
    prefix = f"cluster {name}" if name else "cluster "
    return [
        t.get_name()
        for t in asyncio.all_tasks()
        if t.get_name().startswith(prefix) and not t.done()
    ]


def _ready(cluster: dict[str, Any]) -> dict[str, Any]:
    return get_condition(cluster, "Ready") or {}


async def test_connected_cluster_reports_its_api_nodes_and_sums(
    api: HealthAPI, health: ClusterHealth, down: Client, access: Access
) -> None:
    dialer = access.dialer = TCPDialer()  # as through the agent's tunnel: every byte via it
    await api.create_cluster("c-stats", creator="alice")
    await api.set_connected("c-stats", True)

    async def reported() -> dict[str, Any] | None:
        cluster = await api.cluster("c-stats")
        status = cluster.get("status") or {}
        done = _ready(cluster).get("status") == "True" and status.get("nodeCount") == 3
        return cluster if done and status.get("version") else None

    cluster = await soon(reported, "Ready True with 3 nodes")
    status = cluster["status"]
    assert _ready(cluster)["reason"] == "APIReady"
    assert status["state"] == "active"
    version = await down.get_path("/version")
    assert status["version"]["gitVersion"] == version["gitVersion"]
    assert status["version"]["major"] == version["major"]
    assert status["capacity"] == {"cpu": "24", "memory": "96Gi", "pods": "330"}
    assert status["allocatable"] == {"cpu": "24", "memory": "98004Mi", "pods": "330"}
    host_port = access.config.server.removeprefix("https://").rsplit(":", 1)
    assert set(dialer.dialed) == {(host_port[0], int(host_port[1]))}
    # Connected is the agent's: the health writes left it as it was.
    assert get_condition(cluster, "Connected")["reason"] == "AgentConnected"  # type: ignore[index]
    before = status["requested"]

    # Idle costs no writes: several probes later, nothing more was written.
    watch = health.watch_of("c-stats")
    assert watch is not None
    await soon(lambda: watch.observed.requested is not None, "figures known")
    writes, probes = health.writer.writes, watch.probes
    await soon(lambda: watch.probes >= probes + 4, "four more probes")
    assert health.writer.writes == writes, "an idle cluster's status is not rewritten"

    deployment = {
        "metadata": {"name": "needs-room", "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "needs-room"}},
            "template": {
                "metadata": {"labels": {"app": "needs-room"}},
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "example/app:1",
                            "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}},
                        },
                        {
                            "name": "side",
                            "image": "example/side:1",
                            "resources": {"requests": {"cpu": "0.1", "memory": "1Mi"}},
                        },
                    ]
                },
            },
        },
    }
    await down.create(DEPLOYMENTS, deployment, namespace="default")
    try:

        async def grown() -> dict[str, str] | None:
            requested = (await api.cluster("c-stats"))["status"]["requested"]
            return (
                requested
                if requested != before and requested["pods"] == str(int(before["pods"]) + 2)
                else None
            )

        requested = await soon(grown, "requested grows by the deployment's pods")
        assert requested["cpu"] == _plus(before.get("cpu"), "700m")
        assert requested["memory"] == _plus(before.get("memory"), "130Mi")
    finally:
        await down.delete(DEPLOYMENTS, "needs-room", namespace="default")


def _plus(base: str | None, extra: str) -> str:
    from corral.machinery.quota import format_usage, parse

    total = (parse(base) if base else 0) or 0
    added = parse(extra)
    assert added is not None
    return format_usage("memory" if extra.endswith("i") else "cpu", total + added)


async def test_downstream_warnings_are_mirrored_once_per_event(
    api: HealthAPI, health: ClusterHealth, down: Client
) -> None:
    await api.create_cluster("c-warns", creator="alice")
    await api.set_connected("c-warns", True)
    now = "2026-01-01T00:00:00Z"
    event = {
        "metadata": {"name": "disk-trouble", "namespace": "default"},
        "involvedObject": {"kind": "Node", "name": "node-1", "apiVersion": "v1"},
        "reason": "DiskPressure",
        "message": "the disk is nearly full",
        "type": "Warning",
        "count": 1,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "source": {"component": "kubelet"},
    }
    normal = {
        **event,
        "metadata": {"name": "all-fine", "namespace": "default"},
        "type": "Normal",
        "reason": "Fine",
    }
    created = await down.create(EVENTS, event, namespace="default")
    await down.create(EVENTS, normal, namespace="default")
    uid = created["metadata"]["uid"]
    try:

        async def mirrored() -> list[dict[str, Any]]:
            items = (await api.admin.list(EVENTS, namespace="c-warns"))["items"]
            return [e for e in items if e["reason"] == "DiskPressure"]

        [mirror] = await soon(mirrored, "the warning mirrored into namespace c-warns")
        assert mirror["metadata"]["name"] == f"c-warns.{uid}"
        assert mirror["involvedObject"]["kind"] == "Cluster"
        assert mirror["involvedObject"]["name"] == "c-warns"
        assert mirror["type"] == "Warning"
        assert "Node node-1: the disk is nearly full" in mirror["message"]

        later = "2026-01-01T00:05:00Z"
        await down.patch(
            EVENTS, "disk-trouble", {"count": 4, "lastTimestamp": later}, namespace="default"
        )

        async def counted() -> list[dict[str, Any]] | None:
            found = await mirrored()
            return found if found and found[0]["count"] == 4 else None

        [mirror] = await soon(counted, "the repeat updates the same mirror")
        assert mirror["lastTimestamp"] == later
        items = (await api.admin.list(EVENTS, namespace="c-warns"))["items"]
        assert [e["reason"] for e in items] == ["DiskPressure"], "Normal events stay home"
    finally:
        for name in ("disk-trouble", "all-fine"):
            await down.delete(EVENTS, name, namespace="default")


async def _bindings(down: Client) -> set[str]:
    page = await down.list(CLUSTER_ROLE_BINDINGS, label_selector="corral.io/managed=true")
    return {item["metadata"]["name"] for item in page["items"]}


async def test_admins_and_creator_are_cluster_admin_downstream(
    api: HealthAPI, health: ClusterHealth, down: Client
) -> None:
    for name in await _bindings(down):
        await down.delete(CLUSTER_ROLE_BINDINGS, name)
    await api.create_cluster("c-binds", creator="alice")
    await api.set_connected("c-binds", True)
    wanted = {"corral-admin-admin", "corral-admin-alice"}

    async def bound() -> bool:
        return await _bindings(down) == wanted

    await soon(bound, "bindings for the admin and the creator")
    binding = await down.get(CLUSTER_ROLE_BINDINGS, "corral-admin-alice")
    assert binding["roleRef"]["name"] == "cluster-admin"
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}
    ]
    with pytest.raises(NotFound):
        await down.get(CLUSTER_ROLE_BINDINGS, "corral-admin-bob")

    await api.admin.patch(
        ResourceRef("management.corral.io", "v1", "clusters", namespaced=False),
        "c-binds",
        {"metadata": {"annotations": {"corral.io/creator-id": "bob"}}},
    )
    wanted = {"corral-admin-admin", "corral-admin-bob"}
    await soon(bound, "the new creator bound, the old one unbound")

    await api.create_user("carol", global_admin=True)
    wanted = {"corral-admin-admin", "corral-admin-bob", "corral-admin-carol"}
    await soon(bound, "a new global admin is bound too")
    for name in await _bindings(down):
        await down.delete(CLUSTER_ROLE_BINDINGS, name)


async def test_disconnect_stops_the_watch_and_failures_are_reported(
    api: HealthAPI, health: ClusterHealth, access: Access
) -> None:
    await api.create_cluster("c-gone", creator="alice")
    await api.set_connected("c-gone", True)

    async def ready() -> bool:
        cluster = await api.cluster("c-gone")
        return _ready(cluster).get("status") == "True" and cluster["status"].get("nodeCount") == 3

    await soon(ready, "Ready True")
    assert health.watched == ["c-gone"]
    assert _cluster_tasks("c-gone"), "the watch runs as named tasks"

    await api.set_connected("c-gone", False)

    async def disconnected() -> dict[str, Any] | None:
        cluster = await api.cluster("c-gone")
        return cluster if _ready(cluster).get("reason") == "Disconnected" else None

    cluster = await soon(disconnected, "Ready False Disconnected")
    assert _ready(cluster)["status"] == "False"
    assert cluster["status"]["state"] == "disconnected"
    assert cluster["status"]["nodeCount"] == 3, "the last known figures stay"
    await soon(lambda: not _cluster_tasks("c-gone"), "no task of the cluster left")
    assert health.watched == []

    access.broken = "agent not connected"
    await api.set_connected("c-gone", True)

    async def unavailable() -> dict[str, Any] | None:
        cluster = await api.cluster("c-gone")
        return cluster if _ready(cluster).get("reason") == "APIUnavailable" else None

    cluster = await soon(unavailable, "Ready False APIUnavailable while access fails")
    assert "agent not connected" in _ready(cluster)["message"]
    assert cluster["status"]["state"] == "unavailable"

    access.broken = ""
    await soon(ready, "Ready again once access works (restart with back-off)")

    await api.admin.delete(CLUSTERS, "c-gone")
    await soon(lambda: not health.watched, "a deleted cluster is not watched")
    await soon(lambda: not _cluster_tasks("c-gone"), "and leaves no task")


async def test_mirrors_are_bounded_newest_kept_and_deduplicated_across_restarts(
    api: HealthAPI,
) -> None:
    cluster = await api.create_cluster("c-bound", creator="alice")

    def warning(n: int) -> dict[str, Any]:
        stamp = f"2026-01-01T00:00:0{n}Z"
        return {
            "metadata": {"name": f"w{n}", "namespace": "default", "uid": f"uid-{n}"},
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": f"p{n}"},
            "reason": "BackOff",
            "message": f"restarting p{n}",
            "type": "Warning",
            "count": 1,
            "lastTimestamp": stamp,
        }

    mirror = EventMirror(api.controllers, cluster, limit=3)
    await mirror.load()
    for n in range(5):
        mirror.offer(warning(n))
    await mirror.flush()

    async def mirrored() -> list[str]:
        items = (await api.admin.list(EVENTS, namespace="c-bound"))["items"]
        return sorted(e["metadata"]["name"] for e in items)

    assert await mirrored() == ["c-bound.uid-2", "c-bound.uid-3", "c-bound.uid-4"]
    mirror.offer(warning(5))
    await mirror.flush()
    assert await mirrored() == ["c-bound.uid-3", "c-bound.uid-4", "c-bound.uid-5"]

    again = EventMirror(api.controllers, cluster, limit=3)  # a restarted watch
    await again.load()
    for n in range(6):
        again.offer(warning(n))
    await again.flush()
    assert await mirrored() == ["c-bound.uid-3", "c-bound.uid-4", "c-bound.uid-5"]
    items = (await api.admin.list(EVENTS, namespace="c-bound"))["items"]
    assert all(e["count"] == 1 for e in items), "seen events are not written again"


class RefusingDialer:
    """The agent refuses every dial, as the tunnel reports it (not a client error)."""

    async def dial(self, host: str, port: int) -> anyio.abc.ByteStream:
        raise DialRefused(f"cannot reach the cluster's API {host}:{port}: connection refused")


async def test_a_refused_dial_is_reported_and_the_watch_keeps_running(
    api: HealthAPI, health: ClusterHealth, access: Access
) -> None:
    access.dialer = RefusingDialer()
    await api.create_cluster("c-nodna", creator="alice")
    await api.set_connected("c-nodna", True)

    async def unavailable() -> dict[str, Any] | None:
        ready = _ready(await api.cluster("c-nodna"))
        return ready if ready.get("reason") == "APIUnavailable" else None

    ready = await soon(unavailable, "Ready False APIUnavailable")
    assert "connection refused" in ready["message"]
    watch = health.watch_of("c-nodna")
    assert watch is not None
    probes = watch.probes
    await soon(lambda: watch.probes >= probes + 2, "probing goes on (backing off)")
    assert health.watch_of("c-nodna") is watch, "the watch was not torn down and restarted"
    assert not _cluster_tasks("c-nodna: informer"), "no informers for an API never ready"
