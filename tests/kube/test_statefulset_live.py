"""StatefulSets against a real server, driven by the real kubectl.

The StatefulSet controller runs in the test process (``build(ctx)`` with an
HTTP client, as the controller manager would run it in-process); the server
runs the garbage collector, which deletes claims whose owners are gone.
`FakeKubelet` (tests/kube/workloads.py) binds pods and reports them Running
and Ready, and finishes graceful deletions; it can be paused. Order is
checked on one watch stream of the namespace's pods — the events' order is
the server's order of writes — never by timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
import yaml

from controllerthread import new_context, running
from corral.client import Client
from corral.kube.context import KubeOptions
from corral.kube.resources import CONTROLLER_REVISIONS, PERSISTENT_VOLUME_CLAIMS, PODS
from corral.kube.statefulset import build
from kubectlproc import kubectl_ok, run_kubectl
from polling import eventually
from serverproc import CorralServer, controller_args, module_server

from .workloads import Api, FakeKubelet, is_ready

Obj = dict[str, Any]


server = module_server("sts", controller_args("garbagecollector"))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture
async def client(server: CorralServer) -> AsyncIterator[Client]:
    """An HTTP client, with the StatefulSet controller running on it meanwhile."""
    async with Client.from_kubeconfig(server.kubeconfig_path) as made:
        ctx = new_context(made, options=KubeOptions(workers=2))
        async with running(ctx, build(ctx)):
            yield made


class Kubectl:
    def __init__(self, server: CorralServer, home: Path, namespace: str) -> None:
        self.server, self.home, self.namespace = server, home, namespace

    async def __call__(self, *args: str, stdin: str = "") -> str:
        return await asyncio.to_thread(
            kubectl_ok, self.server, self.home, "-n", self.namespace, *args, stdin=stdin
        )

    async def run(self, *args: str) -> tuple[int, str]:
        done = await asyncio.to_thread(
            run_kubectl, self.server, self.home, "-n", self.namespace, *args
        )
        return done.returncode, done.stdout + done.stderr

    async def apply(self, doc: Obj) -> str:
        return await self("apply", "-f", "-", stdin=yaml.safe_dump(doc))


@pytest.fixture
def api(server: CorralServer) -> Iterator[Api]:
    made = Api(server)
    yield made
    made.close()


@pytest.fixture
def kubectl(server: CorralServer, home: Path, api: Api) -> Kubectl:
    """kubectl in a new namespace of the test's own (``kubectl.namespace``)."""
    return Kubectl(server, home, api.new_namespace())


def sts_doc(name: str, replicas: int, image: str = "nginx:1", **spec: Any) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
            **spec,
        },
    }


async def pods_of(client: Client, ns: str, name: str) -> dict[str, Obj]:
    listed = await client.list(PODS, namespace=ns, label_selector=f"app={name}")
    return {p["metadata"]["name"]: p for p in listed["items"]}


def image(pod: Obj) -> str:
    value: str = pod["spec"]["containers"][0]["image"]
    return value


class PodLog:
    """Every pod event of a namespace, in the server's order."""

    def __init__(self, client: Client, ns: str, resource_version: str) -> None:
        self.events: list[tuple[str, str, bool, bool]] = []  # type, name, ready, deleting
        self.task = asyncio.create_task(self._run(client, ns, resource_version))

    async def _run(self, client: Client, ns: str, rv: str) -> None:
        async with client.watch(PODS, namespace=ns, resource_version=rv) as watch:
            async for event in watch:
                obj = event.object
                self.events.append(
                    (
                        event.type,
                        obj["metadata"]["name"],
                        is_ready(obj),
                        bool(obj["metadata"].get("deletionTimestamp")),
                    )
                )

    def first(self, kind: str, name: str, after: int = 0) -> int:
        for i, (type_, pod, _ready, _deleting) in enumerate(self.events):
            if i >= after and type_ == kind and pod == name:
                return i
        return -1

    def first_ready(self, name: str, after: int = 0) -> int:
        for i, (type_, pod, ready, deleting) in enumerate(self.events):
            if i >= after and type_ != "DELETED" and pod == name and ready and not deleting:
                return i
        return -1

    def first_deleting(self, name: str, after: int = 0) -> int:
        for i, (type_, pod, _ready, deleting) in enumerate(self.events):
            if i >= after and pod == name and (deleting or type_ == "DELETED"):
                return i
        return -1

    async def stop(self) -> None:
        self.task.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await self.task


async def watch_start(client: Client, ns: str) -> str:
    listed = await client.list(PODS, namespace=ns)
    rv: str = listed["metadata"]["resourceVersion"]
    return rv


async def test_ordered_scale_up_and_down(
    server: CorralServer, client: Client, api: Api, kubectl: Kubectl
) -> None:
    ns = kubectl.namespace
    log = PodLog(client, ns, await watch_start(client, ns))
    try:
        with FakeKubelet(server, ns):
            await kubectl.apply(sts_doc("web", 3))
            out = await kubectl("rollout", "status", "statefulset/web", "--timeout=60s")
            assert "roll out complete" in out or "rolling update complete" in out
            pods = await pods_of(client, ns, "web")
            assert sorted(pods) == ["web-0", "web-1", "web-2"]
            for ordinal in (1, 2):
                created = log.first("ADDED", f"web-{ordinal}")
                ready_before = log.first_ready(f"web-{ordinal - 1}")
                assert 0 <= ready_before < created, log.events
            pod = pods["web-1"]
            labels = pod["metadata"]["labels"]
            assert labels["statefulset.kubernetes.io/pod-name"] == "web-1"
            assert labels["apps.kubernetes.io/pod-index"] == "1"
            assert labels["controller-revision-hash"].startswith("web-")
            assert pod["spec"]["hostname"] == "web-1"
            assert pod["spec"]["subdomain"] == "web"
            owner = pod["metadata"]["ownerReferences"][0]
            assert (owner["kind"], owner["name"], owner["controller"]) == (
                "StatefulSet",
                "web",
                True,
            )

            await kubectl("scale", "statefulset/web", "--replicas=1")
            await eventually(
                lambda: _names_of(client, ns, "web", ["web-0"]), what="scaled down to web-0"
            )
            gone2 = log.first("DELETED", "web-2")
            assert gone2 >= 0
            assert log.first_deleting("web-1") > gone2, log.events
            sts = api.get(f"/apis/apps/v1/namespaces/{ns}/statefulsets/web")
            await eventually(
                lambda: _status(api, ns, "web").get("replicas") == 1, what="status replicas 1"
            )
            assert sts["spec"]["replicas"] == 1
    finally:
        await log.stop()


def _status(api: Api, ns: str, name: str) -> Obj:
    status: Obj = api.get(f"/apis/apps/v1/namespaces/{ns}/statefulsets/{name}").get("status") or {}
    return status


async def test_claims_from_templates_and_retention(
    server: CorralServer, client: Client, kubectl: Kubectl
) -> None:
    ns = kubectl.namespace
    claim = {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    with FakeKubelet(server, ns):
        await kubectl.apply(sts_doc("db", 2, volumeClaimTemplates=[claim]))
        await kubectl("rollout", "status", "statefulset/db", "--timeout=60s")
        listed = await client.list(PERSISTENT_VOLUME_CLAIMS, namespace=ns)
        claims = {c["metadata"]["name"]: c for c in listed["items"]}
        assert sorted(claims) == ["data-db-0", "data-db-1"]
        assert claims["data-db-0"]["metadata"]["labels"]["app"] == "db"
        assert not claims["data-db-0"]["metadata"].get("ownerReferences")
        pod = (await pods_of(client, ns, "db"))["db-1"]
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "data-db-1"

        # Retain (the default): scaling down keeps the claim.
        await kubectl("scale", "statefulset/db", "--replicas=1")
        await eventually(lambda: _names_of(client, ns, "db", ["db-0"]), what="db scaled")
        listed = await client.list(PERSISTENT_VOLUME_CLAIMS, namespace=ns)
        assert len(listed["items"]) == 2

        # whenScaled=Delete: a pod scaled away owns its claims, which go with it.
        await kubectl.apply(
            sts_doc(
                "cache",
                2,
                volumeClaimTemplates=[claim],
                persistentVolumeClaimRetentionPolicy={
                    "whenScaled": "Delete",
                    "whenDeleted": "Delete",
                },
            )
        )
        await kubectl("rollout", "status", "statefulset/cache", "--timeout=60s")
        kept = await client.get(PERSISTENT_VOLUME_CLAIMS, "data-cache-0", namespace=ns)
        refs = kept["metadata"]["ownerReferences"]
        assert [(r["kind"], r["name"]) for r in refs] == [("StatefulSet", "cache")]
        await kubectl("scale", "statefulset/cache", "--replicas=1")

        async def cache_claim_gone() -> bool:
            listed = await client.list(PERSISTENT_VOLUME_CLAIMS, namespace=ns)
            names = {c["metadata"]["name"] for c in listed["items"]}
            return "data-cache-1" not in names and "data-cache-0" in names

        await eventually(cache_claim_gone, deadline=60, what="data-cache-1 deleted")
        # whenDeleted=Delete: the claims go with the set.
        await kubectl("delete", "statefulset/cache", "--wait=false")

        async def all_cache_claims_gone() -> bool:
            listed = await client.list(PERSISTENT_VOLUME_CLAIMS, namespace=ns)
            return not any(c["metadata"]["name"].startswith("data-cache") for c in listed["items"])

        await eventually(all_cache_claims_gone, deadline=60, what="cache claims deleted")


async def _names_of(client: Client, ns: str, name: str, wanted: list[str]) -> bool:
    pods = await pods_of(client, ns, name)
    live = [n for n, p in pods.items() if not p["metadata"].get("deletionTimestamp")]
    return sorted(live) == wanted and len(pods) == len(wanted)


async def test_rolling_update_with_partition(
    server: CorralServer, client: Client, api: Api, kubectl: Kubectl
) -> None:
    ns = kubectl.namespace
    with FakeKubelet(server, ns):
        await kubectl.apply(sts_doc("app", 3))
        await kubectl("rollout", "status", "statefulset/app", "--timeout=60s")
        first = _status(api, ns, "app")
        assert first["currentRevision"] == first["updateRevision"]
        log = PodLog(client, ns, await watch_start(client, ns))

        await kubectl(
            "patch",
            "statefulset/app",
            "-p",
            '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":1}}}}',
        )
        await kubectl("set", "image", "statefulset/app", "main=nginx:2")
        out = await kubectl("rollout", "status", "statefulset/app", "--timeout=60s")
        assert "partitioned roll out complete: 2 new pods have been updated" in out
        # From the highest ordinal down, each replacement ready before the next goes.
        await eventually(lambda: log.first_ready("app-1", log.first("ADDED", "app-1")) >= 0)
        await log.stop()
        replaced2 = log.first("ADDED", "app-2", log.first_deleting("app-2"))
        ready2 = log.first_ready("app-2", replaced2)
        assert 0 <= ready2 < log.first_deleting("app-1"), log.events
        assert log.first_deleting("app-0") == -1
        pods = await pods_of(client, ns, "app")
        assert {n: image(p) for n, p in pods.items()} == {
            "app-0": "nginx:1",
            "app-1": "nginx:2",
            "app-2": "nginx:2",
        }
        status = _status(api, ns, "app")
        assert status["currentRevision"] == first["currentRevision"]
        assert status["updateRevision"] != first["updateRevision"]
        assert status["updatedReplicas"] == 2
        assert (
            pods["app-2"]["metadata"]["labels"]["controller-revision-hash"]
            == (status["updateRevision"])
        )

        await kubectl(
            "patch",
            "statefulset/app",
            "-p",
            '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}',
        )
        await kubectl("rollout", "status", "statefulset/app", "--timeout=60s")
        await eventually(
            lambda: _status(api, ns, "app").get("currentRevision") == status["updateRevision"],
            what="current revision moves to the update revision",
        )
        pods = await pods_of(client, ns, "app")
        assert {image(p) for p in pods.values()} == {"nginx:2"}
        final = _status(api, ns, "app")
        assert final["currentReplicas"] == final["updatedReplicas"] == 3
        assert final["readyReplicas"] == final["availableReplicas"] == 3
        assert (
            final["observedGeneration"]
            == api.get(f"/apis/apps/v1/namespaces/{ns}/statefulsets/app")["metadata"]["generation"]
        )

        revisions = await client.list(CONTROLLER_REVISIONS, namespace=ns)
        numbers = sorted(r["revision"] for r in revisions["items"])
        assert numbers == [1, 2]
        history = await kubectl("rollout", "history", "statefulset/app")
        assert "REVISION" in history
        assert "2" in history

        # Undo: back to nginx:1, which becomes revision 3.
        await kubectl("rollout", "undo", "statefulset/app")
        await kubectl("rollout", "status", "statefulset/app", "--timeout=60s")

        async def rolled_back() -> bool:
            pods = await pods_of(client, ns, "app")
            return {image(p) for p in pods.values()} == {"nginx:1"} and len(pods) == 3

        await eventually(rolled_back, deadline=60, what="rolled back to nginx:1")
        revisions = await client.list(CONTROLLER_REVISIONS, namespace=ns)
        assert sorted(r["revision"] for r in revisions["items"]) == [2, 3]


async def test_deleted_and_failed_pods_come_back(
    server: CorralServer, client: Client, kubectl: Kubectl
) -> None:
    ns = kubectl.namespace
    with FakeKubelet(server, ns):
        await kubectl.apply(sts_doc("redo", 2))
        await kubectl("rollout", "status", "statefulset/redo", "--timeout=60s")
        old = (await pods_of(client, ns, "redo"))["redo-1"]["metadata"]["uid"]
        await kubectl("delete", "pod", "redo-1")

        async def recreated() -> bool:
            pod = (await pods_of(client, ns, "redo")).get("redo-1")
            return pod is not None and pod["metadata"]["uid"] != old and is_ready(pod)

        await eventually(recreated, what="redo-1 recreated")

        old0 = (await pods_of(client, ns, "redo"))["redo-0"]["metadata"]["uid"]
        await client.patch(
            PODS, "redo-0", {"status": {"phase": "Failed"}}, namespace=ns, subresource="status"
        )

        async def replaced() -> bool:
            pod = (await pods_of(client, ns, "redo")).get("redo-0")
            return pod is not None and pod["metadata"]["uid"] != old0

        await eventually(replaced, what="failed redo-0 replaced")


async def test_parallel_creates_without_waiting(
    server: CorralServer, client: Client, kubectl: Kubectl
) -> None:
    ns = kubectl.namespace
    kubelet = FakeKubelet(server, ns)
    kubelet.enabled.clear()  # nothing becomes ready
    with kubelet:
        await kubectl.apply(sts_doc("par", 3, podManagementPolicy="Parallel"))
        await eventually(
            lambda: _names_of(client, ns, "par", ["par-0", "par-1", "par-2"]),
            what="all three pods at once",
        )
        assert not any(is_ready(p) for p in (await pods_of(client, ns, "par")).values())
        kubelet.enabled.set()
        await kubectl("rollout", "status", "statefulset/par", "--timeout=60s")


async def test_max_unavailable_replaces_several_at_once(
    server: CorralServer, client: Client, api: Api, kubectl: Kubectl
) -> None:
    ns = kubectl.namespace
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}}
    doc = sts_doc("many", 4, podManagementPolicy="Parallel", updateStrategy=strategy)
    kubelet = FakeKubelet(server, ns)
    with kubelet:
        await kubectl.apply(doc)
        await kubectl("rollout", "status", "statefulset/many", "--timeout=60s")
        kubelet.enabled.clear()  # replacements stay unready: the budget stays spent
        await kubectl("set", "image", "statefulset/many", "main=nginx:2")

        async def two_replaced() -> bool:
            pods = await pods_of(client, ns, "many")
            return {n for n, p in pods.items() if image(p) == "nginx:2"} == {
                "many-2",
                "many-3",
            }

        await eventually(two_replaced, what="the two highest ordinals replaced")
        await eventually(
            lambda: _status(api, ns, "many").get("updatedReplicas") == 2,
            what="status counting the two updated pods",
        )
        pods = await pods_of(client, ns, "many")
        assert image(pods["many-0"]) == image(pods["many-1"]) == "nginx:1"
        kubelet.enabled.set()
        await kubectl("rollout", "status", "statefulset/many", "--timeout=60s")
        pods = await pods_of(client, ns, "many")
        assert {image(p) for p in pods.values()} == {"nginx:2"}
