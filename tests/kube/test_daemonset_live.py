"""DaemonSets against a real server, driven by the real kubectl.

The server runs the scheduler (daemon pods are bound by it, through the
node affinity the DaemonSet controller gives them) and the garbage
collector; the DaemonSet controller runs in the test process with an HTTP
client. Nodes are made by hand (tests/kube/fakenodes.py) and a small
`Kubelet` task reports bound pods Running and Ready and finishes their
graceful deletions. Waits are polls with deadlines.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
import yaml

from controllerthread import new_context, running
from corral.client import Client
from corral.kube.context import KubeOptions
from corral.kube.daemonset import build
from corral.kube.resources import CONTROLLER_REVISIONS, NODES, PODS
from corral.kube.resources import DAEMON_SETS as DAEMON_SETS_REF
from corral.machinery.status import NotFound
from kubectlproc import kubectl_ok
from polling import eventually
from serverproc import CorralServer, controller_args, module_server

from .fakenodes import create_node, delete_node, new_namespace
from .workloads import is_ready, now

Obj = dict[str, Any]


server = module_server("ds", controller_args("scheduler,garbagecollector"))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


class Kubelet:
    """Reports the namespace's bound pods Running and Ready; finishes deletions."""

    def __init__(self, client: Client, namespace: str) -> None:
        self.client, self.namespace = client, namespace
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            with suppress(Exception):
                await self._pass()
            await asyncio.sleep(0.1)

    async def _pass(self) -> None:
        listed = await self.client.list(PODS, namespace=self.namespace)
        for pod in listed["items"]:
            name = pod["metadata"]["name"]
            if pod["metadata"].get("deletionTimestamp"):
                with suppress(NotFound):
                    await self.client.delete(
                        PODS, name, namespace=self.namespace, grace_period_seconds=0
                    )
                continue
            if not pod["spec"].get("nodeName") or is_ready(pod):
                continue
            stamp = now()
            status = {
                "phase": "Running",
                "startTime": stamp,
                "conditions": [
                    {"type": kind, "status": "True", "lastTransitionTime": stamp}
                    for kind in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
                ],
            }
            with suppress(NotFound):
                await self.client.patch(
                    PODS, name, {"status": status}, namespace=self.namespace, subresource="status"
                )

    async def stop(self) -> None:
        self.task.cancel()
        with suppress(asyncio.CancelledError):
            await self.task


class Cluster:
    """A namespace, its nodes, the DaemonSet controller and a kubelet; cleaned up after."""

    def __init__(self, server: CorralServer, home: Path, client: Client, ns: str) -> None:
        self.server, self.home, self.client, self.ns = server, home, client, ns
        self.nodes: list[str] = []
        self.tag = uuid.uuid4().hex[:6]

    async def node(self, short: str, **kwargs: Any) -> str:
        name = f"{short}-{self.tag}"
        await create_node(self.client, name, lease=False, **kwargs)
        self.nodes.append(name)
        return name

    async def kubectl(self, *args: str, stdin: str = "") -> str:
        return await asyncio.to_thread(
            kubectl_ok, self.server, self.home, "-n", self.ns, *args, stdin=stdin
        )

    async def apply(self, doc: Obj) -> str:
        return await self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(doc))

    async def pods(self, app: str) -> list[Obj]:
        listed = await self.client.list(PODS, namespace=self.ns, label_selector=f"app={app}")
        return [p for p in listed["items"] if not p["metadata"].get("deletionTimestamp")]

    async def placement(self, app: str) -> dict[str, str]:
        """node → image of the live, bound, ready pods."""
        out = {}
        for pod in await self.pods(app):
            if pod["spec"].get("nodeName") and is_ready(pod):
                out[pod["spec"]["nodeName"]] = pod["spec"]["containers"][0]["image"]
        return out

    async def wait_placement(self, app: str, wanted: dict[str, str], deadline: float = 30) -> None:
        async def check() -> bool:
            pods = await self.pods(app)
            return await self.placement(app) == wanted and len(pods) == len(wanted)

        await eventually(check, f"{app} placed on {wanted}", deadline)

    async def status(self, name: str) -> Obj:
        ds = await self.client.get(DAEMON_SETS_REF, name, namespace=self.ns)
        status: Obj = ds.get("status") or {}
        return status

    async def cleanup(self) -> None:
        for name in self.nodes:
            await delete_node(self.client, name)


@pytest.fixture
async def cluster(server: CorralServer, home: Path) -> AsyncIterator[Cluster]:
    async with Client.from_kubeconfig(server.kubeconfig_path) as client:
        ctx = new_context(client, options=KubeOptions(workers=2))
        async with running(ctx, build(ctx)):
            made = Cluster(server, home, client, await new_namespace(client))
            kubelet = Kubelet(client, made.ns)
            try:
                yield made
            finally:
                await kubelet.stop()
                await made.cleanup()


def ds_doc(name: str, image: str = "nginx:1", pod_spec: Obj | None = None, **spec: Any) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}], **(pod_spec or {})},
            },
            **spec,
        },
    }


async def test_follows_nodes_added_and_removed(cluster: Cluster) -> None:
    one = await cluster.node("one")
    two = await cluster.node("two")
    await cluster.apply(ds_doc("agent"))
    await cluster.wait_placement("agent", {one: "nginx:1", two: "nginx:1"})
    out = await cluster.kubectl("rollout", "status", "daemonset/agent", "--timeout=60s")
    assert 'daemon set "agent" successfully rolled out' in out

    pod = next(p for p in await cluster.pods("agent") if p["spec"]["nodeName"] == one)
    terms = pod["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [one]}]}]
    tolerations = {(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]}
    assert {
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    } <= tolerations
    assert pod["metadata"]["labels"]["controller-revision-hash"]

    three = await cluster.node("three")
    await cluster.wait_placement("agent", {one: "nginx:1", two: "nginx:1", three: "nginx:1"})
    await delete_node(cluster.client, two)
    cluster.nodes.remove(two)
    await cluster.wait_placement("agent", {one: "nginx:1", three: "nginx:1"})

    async def counted() -> bool:
        status = await cluster.status("agent")
        return (
            status.get("desiredNumberScheduled") == 2
            and status.get("currentNumberScheduled") == 2
            and status.get("numberReady") == 2
            and status.get("numberAvailable") == 2
            and status.get("updatedNumberScheduled") == 2
            and status.get("numberUnavailable") == 0
            and status.get("numberMisscheduled") == 0
        )

    await eventually(counted, what="status counts two nodes")


async def test_node_selector_taints_and_label_changes(cluster: Cluster) -> None:
    edge = await cluster.node("edge", labels={"role": "edge"})
    tainted = await cluster.node(
        "tainted",
        labels={"role": "edge"},
        taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}],
    )
    plain = await cluster.node("plain")
    await cluster.apply(ds_doc("edge", pod_spec={"nodeSelector": {"role": "edge"}}))
    await cluster.wait_placement("edge", {edge: "nginx:1"})
    status = await cluster.status("edge")
    assert status["desiredNumberScheduled"] == 1

    tolerant = ds_doc(
        "tolerant",
        pod_spec={
            "nodeSelector": {"role": "edge"},
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "db"}],
        },
    )
    await cluster.apply(tolerant)
    await cluster.wait_placement("tolerant", {edge: "nginx:1", tainted: "nginx:1"})

    # A node that gains the label gains the daemon.
    await cluster.client.patch(NODES, plain, {"metadata": {"labels": {"role": "edge"}}})
    await cluster.wait_placement("edge", {edge: "nginx:1", plain: "nginx:1"})
    # An untolerated NoExecute taint evicts it; NoSchedule alone would not.
    await cluster.client.patch(
        NODES, edge, {"spec": {"taints": [{"key": "drain", "effect": "NoExecute"}]}}
    )
    await cluster.wait_placement("edge", {plain: "nginx:1"})


async def test_rolling_update_max_unavailable(cluster: Cluster) -> None:
    nodes = [await cluster.node(f"r{i}") for i in range(3)]
    doc = ds_doc(
        "roll",
        updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
    )
    await cluster.apply(doc)
    await cluster.wait_placement("roll", dict.fromkeys(nodes, "nginx:1"))
    await cluster.kubectl("rollout", "status", "daemonset/roll", "--timeout=60s")
    before = {p["metadata"]["uid"] for p in await cluster.pods("roll")}
    listed = await cluster.client.list(PODS, namespace=cluster.ns)
    serving: list[int] = []  # after each pod event: nodes with a ready, live pod

    async def record() -> None:
        pods: dict[str, Obj] = {}
        async with cluster.client.watch(
            PODS, namespace=cluster.ns, resource_version=listed["metadata"]["resourceVersion"]
        ) as watch:
            for pod in listed["items"]:
                pods[pod["metadata"]["name"]] = pod
            async for event in watch:
                name = event.object["metadata"]["name"]
                if event.type == "DELETED":
                    pods.pop(name, None)
                else:
                    pods[name] = event.object
                serving.append(
                    len(
                        {
                            p["spec"].get("nodeName")
                            for p in pods.values()
                            if is_ready(p) and not p["metadata"].get("deletionTimestamp")
                        }
                    )
                )

    watcher = asyncio.create_task(record())
    try:
        await cluster.kubectl("set", "image", "daemonset/roll", "main=nginx:2")
        out = await cluster.kubectl("rollout", "status", "daemonset/roll", "--timeout=60s")
        assert 'daemon set "roll" successfully rolled out' in out
        await cluster.wait_placement("roll", dict.fromkeys(nodes, "nginx:2"))
    finally:
        watcher.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await watcher
    assert serving
    assert min(serving) >= 2, serving  # maxUnavailable 1 of 3
    after = await cluster.pods("roll")
    assert not before & {p["metadata"]["uid"] for p in after}
    hashes = {p["metadata"]["labels"]["controller-revision-hash"] for p in after}
    assert len(hashes) == 1

    revisions = await cluster.client.list(CONTROLLER_REVISIONS, namespace=cluster.ns)
    assert sorted(r["revision"] for r in revisions["items"]) == [1, 2]
    newest = max(revisions["items"], key=lambda r: r["revision"])
    assert newest["metadata"]["name"] == f"roll-{hashes.pop()}"
    history = await cluster.kubectl("rollout", "history", "daemonset/roll")
    assert "REVISION" in history

    await cluster.kubectl("rollout", "undo", "daemonset/roll")
    await cluster.wait_placement("roll", dict.fromkeys(nodes, "nginx:1"), deadline=60)
    revisions = await cluster.client.list(CONTROLLER_REVISIONS, namespace=cluster.ns)
    assert sorted(r["revision"] for r in revisions["items"]) == [2, 3]


async def test_rolling_update_with_surge_and_on_delete(cluster: Cluster) -> None:
    node = await cluster.node("s0")
    doc = ds_doc(
        "surge",
        updateStrategy={
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        },
    )
    await cluster.apply(doc)
    await cluster.wait_placement("surge", {node: "nginx:1"})
    old = (await cluster.pods("surge"))[0]
    listed = await cluster.client.list(PODS, namespace=cluster.ns)
    seen: list[tuple[str, str, bool]] = []

    async def record() -> None:
        async with cluster.client.watch(
            PODS, namespace=cluster.ns, resource_version=listed["metadata"]["resourceVersion"]
        ) as watch:
            async for event in watch:
                meta = event.object["metadata"]
                seen.append((event.type, meta["name"], bool(meta.get("deletionTimestamp"))))

    watcher = asyncio.create_task(record())
    try:
        await cluster.kubectl("set", "image", "daemonset/surge", "main=nginx:2")
        await cluster.wait_placement("surge", {node: "nginx:2"})
        added = next(i for i, (t, n, _d) in enumerate(seen) if t == "ADDED")
        old_name = old["metadata"]["name"]
        deleting = next(
            i for i, (t, n, d) in enumerate(seen) if n == old_name and (d or t == "DELETED")
        )
        assert added < deleting, seen  # the new pod came first
    finally:
        watcher.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await watcher

    await cluster.apply(ds_doc("manual", updateStrategy={"type": "OnDelete"}))
    await cluster.wait_placement("manual", {node: "nginx:1"})
    await cluster.kubectl("set", "image", "daemonset/manual", "main=nginx:2")

    async def observed() -> bool:
        ds = await cluster.client.get(DAEMON_SETS_REF, "manual", namespace=cluster.ns)
        status = ds.get("status") or {}
        return bool(status.get("observedGeneration") == ds["metadata"]["generation"])

    await eventually(observed, what="OnDelete set observed")
    assert await cluster.placement("manual") == {node: "nginx:1"}
    assert (await cluster.status("manual"))["updatedNumberScheduled"] == 0
    victim = (await cluster.pods("manual"))[0]["metadata"]["name"]
    await cluster.kubectl("delete", "pod", victim)
    await cluster.wait_placement("manual", {node: "nginx:2"})
