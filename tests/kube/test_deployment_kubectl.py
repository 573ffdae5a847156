"""Deployments driven by the real kubectl against a real server: rollout status,
scale, set image (RollingUpdate within maxSurge/maxUnavailable), history, undo,
pause/resume, Recreate, the revision history limit, the progress deadline and
hash collisions."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from corral.kube.templatehash import compute_hash
from kubectlproc import kubectl_ok, run_kubectl
from serverproc import CorralServer, controller_args, module_server

from .workloads import APPS, Api, FakeKubelet, wait_for

ARGS = controller_args("deployment,replicaset")


server = module_server("deploy", ARGS)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture
def api(server: CorralServer) -> Iterator[Api]:
    client = Api(server)
    yield client
    client.close()


def deployment_yaml(name: str, replicas: int, image: str = "nginx:1", **spec: Any) -> str:
    doc = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
            **spec,
        },
    }
    return yaml.safe_dump(doc)


class Kubectl:
    def __init__(self, server: CorralServer, home: Path, namespace: str) -> None:
        self.server, self.home, self.namespace = server, home, namespace

    def __call__(self, *args: str, stdin: str = "") -> str:
        return kubectl_ok(self.server, self.home, "-n", self.namespace, *args, stdin=stdin)

    def run(self, *args: str) -> tuple[int, str]:
        done = run_kubectl(self.server, self.home, "-n", self.namespace, *args)
        return done.returncode, done.stdout + done.stderr

    def apply(self, text: str) -> str:
        return self("apply", "-f", "-", stdin=text)


@pytest.fixture
def kubectl(server: CorralServer, home: Path, api: Api) -> Kubectl:
    """kubectl in a new namespace of the test's own (``kubectl.namespace``)."""
    return Kubectl(server, home, api.new_namespace())


def conditions(d: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in d.get("status", {}).get("conditions") or []}


def owned_rss(api: Api, ns: str, d: dict[str, Any]) -> list[dict[str, Any]]:
    uid = d["metadata"]["uid"]
    return [
        rs
        for rs in api.replica_sets(ns)
        if any(r["uid"] == uid for r in rs["metadata"].get("ownerReferences") or [])
    ]


def by_revision(api: Api, ns: str, name: str) -> dict[str, dict[str, Any]]:
    d = api.deployment(ns, name)
    return {
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs
        for rs in owned_rss(api, ns, d)
    }


def image_of(obj: dict[str, Any]) -> str:
    """The first container's image of a pod, or of a Deployment's template."""
    pod_spec = obj["spec"]["template"]["spec"] if "template" in obj["spec"] else obj["spec"]
    image: str = pod_spec["containers"][0]["image"]
    return image


@contextmanager
def sampling(server: CorralServer, sample: Callable[[Api], object]) -> Iterator[None]:
    """Call ``sample`` (with an `Api` of its own) every 20 ms on a thread while the block runs."""
    stop = threading.Event()

    def run() -> None:
        watcher = Api(server)
        try:
            while not stop.is_set():
                sample(watcher)
                stop.wait(0.02)
        finally:
            watcher.close()

    sampler = threading.Thread(target=run, daemon=True)
    sampler.start()
    try:
        yield
    finally:
        stop.set()
        sampler.join(10)


def pod_images(api: Api, ns: str) -> set[str]:
    return {image_of(p) for p in api.active_pods(ns)}


def test_create_rollout_status_and_scale(server: CorralServer, api: Api, kubectl: Kubectl) -> None:
    ns = kubectl.namespace
    with FakeKubelet(server, ns):
        kubectl("create", "deployment", "web", "--image=nginx:1", "--replicas=3")
        out = kubectl("rollout", "status", "deployment/web", "--timeout=60s")
        assert 'deployment "web" successfully rolled out' in out

        d = api.deployment(ns, "web")
        assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
        st = d["status"]
        assert st["observedGeneration"] == d["metadata"]["generation"]
        assert (st["replicas"], st["updatedReplicas"], st["readyReplicas"]) == (3, 3, 3)
        assert st["availableReplicas"] == 3
        assert "unavailableReplicas" not in st
        conds = conditions(d)
        assert conds["Available"]["status"] == "True"
        assert conds["Available"]["reason"] == "MinimumReplicasAvailable"
        assert conds["Progressing"]["status"] == "True"
        assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"

        [rs] = owned_rss(api, ns, d)
        pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
        assert rs["metadata"]["name"] == f"web-{pod_hash}"
        assert rs["spec"]["selector"]["matchLabels"] == {
            "app": "web",
            "pod-template-hash": pod_hash,
        }
        assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == pod_hash
        notes = rs["metadata"]["annotations"]
        assert notes["deployment.kubernetes.io/revision"] == "1"
        assert notes["deployment.kubernetes.io/desired-replicas"] == "3"
        assert notes["deployment.kubernetes.io/max-replicas"] == "4"  # 25% of 3, rounded up
        for pod in api.active_pods(ns):
            assert pod["metadata"]["labels"]["pod-template-hash"] == pod_hash
            assert pod["metadata"]["name"].startswith(f"web-{pod_hash}-")

        kubectl("scale", "deployment/web", "--replicas=5")
        kubectl("rollout", "status", "deployment/web", "--timeout=60s")
        wait_for(lambda: len(api.active_pods(ns)) == 5, what="5 pods")
        assert api.deployment(ns, "web")["status"]["availableReplicas"] == 5
        rs = api.get(f"/apis/apps/v1/namespaces/{ns}/replicasets/{rs['metadata']['name']}")
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "5"

        kubectl("scale", "deployment/web", "--replicas=2")
        wait_for(
            lambda: (
                len(api.active_pods(ns)) == 2
                and api.deployment(ns, "web")["status"].get("replicas") == 2
            ),
            what="scaled down to 2",
        )
        kubectl("rollout", "status", "deployment/web", "--timeout=60s")
        out = kubectl("get", "deployment", "web")
        assert out.split("\n")[1].split()[:4] == ["web", "2/2", "2", "2"]
        # Stable across syncs: the same ReplicaSet, the same hash.
        [again] = owned_rss(api, ns, api.deployment(ns, "web"))
        assert again["metadata"]["labels"]["pod-template-hash"] == pod_hash


def test_set_image_rolls_within_max_unavailable(
    server: CorralServer, api: Api, kubectl: Kubectl
) -> None:
    ns = kubectl.namespace
    strategy = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1},
    }
    with FakeKubelet(server, ns) as kubelet:
        kubectl.apply(deployment_yaml("roll", 4, strategy=strategy))
        kubectl("rollout", "status", "deployment/roll", "--timeout=60s")

        # New pods stay Pending: the rollout must stop at maxSurge / maxUnavailable.
        kubelet.enabled.clear()
        samples: list[tuple[int, int]] = []

        def sample(watcher: Api) -> None:
            total = sum(rs["spec"]["replicas"] for rs in watcher.replica_sets(ns))
            ready = sum(
                1
                for p in watcher.active_pods(ns)
                if any(
                    c["type"] == "Ready" and c["status"] == "True"
                    for c in p.get("status", {}).get("conditions") or []
                )
            )
            samples.append((total, ready))

        with sampling(server, sample):
            kubectl("set", "image", "deployment/roll", "main=nginx:2")

            def stuck() -> bool:
                revs = by_revision(api, ns, "roll")
                return (
                    set(revs) == {"1", "2"}
                    and revs["1"]["spec"]["replicas"] == 3
                    and revs["2"]["spec"]["replicas"] == 2
                )

            wait_for(stuck, what="old 3 + new 2")
            d = api.deployment(ns, "roll")
            assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
            code, out = kubectl.run("rollout", "status", "deployment/roll", "--timeout=1s")
            assert code != 0
            assert "updated replicas are available" in out or "new replicas have been" in out

            kubelet.enabled.set()
            kubectl("rollout", "status", "deployment/roll", "--timeout=60s")
        assert samples
        assert max(total for total, _ in samples) <= 5  # replicas + maxSurge
        assert min(ready for _, ready in samples) >= 3  # replicas - maxUnavailable

        revs = by_revision(api, ns, "roll")
        assert revs["1"]["spec"]["replicas"] == 0
        assert revs["2"]["spec"]["replicas"] == 4
        assert {image_of(p) for p in api.active_pods(ns)} == {"nginx:2"}
        d = api.deployment(ns, "roll")
        assert d["status"]["updatedReplicas"] == 4
        assert conditions(d)["Progressing"]["reason"] == "NewReplicaSetAvailable"


def test_scaling_during_a_stuck_rollout_is_proportional(
    server: CorralServer, api: Api, kubectl: Kubectl
) -> None:
    """Kubernetes' documented example: 10 replicas, maxSurge 3, maxUnavailable 2, a
    rollout stuck at old 8 + new 5; scaling to 15 adds 3 to the old and 2 to the new."""
    ns = kubectl.namespace
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}
    with FakeKubelet(server, ns) as kubelet:
        kubectl.apply(deployment_yaml("prop", 10, strategy=strategy))
        kubectl("rollout", "status", "deployment/prop", "--timeout=60s")
        kubelet.enabled.clear()
        kubectl("set", "image", "deployment/prop", "main=nginx:bad")

        def sizes() -> tuple[int, int] | None:
            revs = by_revision(api, ns, "prop")
            if set(revs) != {"1", "2"}:
                return None
            return revs["1"]["spec"]["replicas"], revs["2"]["spec"]["replicas"]

        wait_for(lambda: sizes() == (8, 5), what="stuck at 8 + 5")
        kubectl("scale", "deployment/prop", "--replicas=15")
        wait_for(lambda: sizes() == (11, 7), what="11 + 7")
        for rs in by_revision(api, ns, "prop").values():
            notes = rs["metadata"]["annotations"]
            assert notes["deployment.kubernetes.io/desired-replicas"] == "15"
            assert notes["deployment.kubernetes.io/max-replicas"] == "18"
        kubelet.enabled.set()
        kubectl("rollout", "status", "deployment/prop", "--timeout=60s")
        assert sizes() == (0, 15)


def test_history_and_undo_reuse_the_old_replica_set(
    server: CorralServer, api: Api, kubectl: Kubectl
) -> None:
    ns = kubectl.namespace
    with FakeKubelet(server, ns):
        kubectl.apply(deployment_yaml("hist", 2))
        kubectl("rollout", "status", "deployment/hist", "--timeout=60s")
        kubectl("set", "image", "deployment/hist", "main=nginx:2")
        kubectl("annotate", "deployment/hist", "kubernetes.io/change-cause=image 2", "--overwrite")
        kubectl("rollout", "status", "deployment/hist", "--timeout=60s")

        history = kubectl("rollout", "history", "deployment/hist")
        lines = [line.split() for line in history.splitlines()]
        assert ["1", "<none>"] in lines
        assert ["2", "image", "2"] in lines
        detail = kubectl("rollout", "history", "deployment/hist", "--revision=1")
        assert "nginx:1" in detail

        first = by_revision(api, ns, "hist")["1"]
        kubectl("rollout", "undo", "deployment/hist")
        kubectl("rollout", "status", "deployment/hist", "--timeout=60s")
        d = api.deployment(ns, "hist")
        assert image_of(d) == "nginx:1"
        assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
        revs = by_revision(api, ns, "hist")
        assert set(revs) == {"2", "3"}
        reused = revs["3"]
        assert reused["metadata"]["uid"] == first["metadata"]["uid"]
        assert reused["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
        assert reused["spec"]["replicas"] == 2
        assert revs["2"]["spec"]["replicas"] == 0
        assert {image_of(p) for p in api.active_pods(ns)} == {"nginx:1"}
        history = kubectl("rollout", "history", "deployment/hist")
        numbers = [line.split()[0] for line in history.splitlines()[2:] if line.strip()]
        assert numbers == ["2", "3"]


def test_pause_holds_the_rollout_but_not_scaling(
    server: CorralServer, api: Api, kubectl: Kubectl
) -> None:
    ns = kubectl.namespace
    with FakeKubelet(server, ns):
        kubectl.apply(deployment_yaml("pause", 2))
        kubectl("rollout", "status", "deployment/pause", "--timeout=60s")
        kubectl("rollout", "pause", "deployment/pause")
        kubectl("set", "image", "deployment/pause", "main=nginx:2")

        def paused_seen() -> bool:
            d = api.deployment(ns, "pause")
            cond = conditions(d).get("Progressing") or {}
            return bool(
                d["status"].get("observedGeneration") == d["metadata"]["generation"]
                and cond.get("reason") == "DeploymentPaused"
                and cond.get("status") == "Unknown"
            )

        wait_for(paused_seen, what="paused condition")
        assert set(by_revision(api, ns, "pause")) == {"1"}

        kubectl("scale", "deployment/pause", "--replicas=3")
        wait_for(lambda: len(api.active_pods(ns)) == 3, what="scaled while paused")
        assert {image_of(p) for p in api.active_pods(ns)} == {"nginx:1"}
        assert set(by_revision(api, ns, "pause")) == {"1"}

        kubectl("rollout", "resume", "deployment/pause")
        kubectl("rollout", "status", "deployment/pause", "--timeout=60s")
        assert {image_of(p) for p in api.active_pods(ns)} == {"nginx:2"}
        assert len(api.active_pods(ns)) == 3
        assert set(by_revision(api, ns, "pause")) == {"1", "2"}


def test_recreate_never_runs_old_and_new_together(
    server: CorralServer, api: Api, kubectl: Kubectl
) -> None:
    ns = kubectl.namespace
    with FakeKubelet(server, ns):
        kubectl.apply(deployment_yaml("rec", 2, strategy={"type": "Recreate"}))
        kubectl("rollout", "status", "deployment/rec", "--timeout=60s")
        images: list[set[str]] = []
        with sampling(server, lambda watcher: images.append(pod_images(watcher, ns))):
            kubectl("set", "image", "deployment/rec", "main=nginx:2")
            kubectl("rollout", "status", "deployment/rec", "--timeout=60s")
        assert {"nginx:1", "nginx:2"} not in images
        assert all(len(seen) <= 1 for seen in images)
        assert {image_of(p) for p in api.active_pods(ns)} == {"nginx:2"}


def test_revision_history_limit_deletes_old_replica_sets(
    server: CorralServer, api: Api, kubectl: Kubectl
) -> None:
    ns = kubectl.namespace
    with FakeKubelet(server, ns):
        kubectl.apply(deployment_yaml("limit", 1, revisionHistoryLimit=1))
        kubectl("rollout", "status", "deployment/limit", "--timeout=60s")
        for tag in ("2", "3", "4"):
            kubectl("set", "image", "deployment/limit", f"main=nginx:{tag}")
            kubectl("rollout", "status", "deployment/limit", "--timeout=60s")
        wait_for(lambda: set(by_revision(api, ns, "limit")) == {"3", "4"}, what="only 3 and 4")


def test_progress_deadline_exceeded(server: CorralServer, api: Api, kubectl: Kubectl) -> None:
    ns = kubectl.namespace
    with FakeKubelet(server, ns) as kubelet:
        kubelet.enabled.clear()
        kubectl.apply(deployment_yaml("late", 1, progressDeadlineSeconds=2))

        def timed_out() -> bool:
            cond = conditions(api.deployment(ns, "late")).get("Progressing") or {}
            return cond.get("reason") == "ProgressDeadlineExceeded"

        wait_for(timed_out, deadline=30, what="ProgressDeadlineExceeded")
        d = api.deployment(ns, "late")
        assert conditions(d)["Progressing"]["status"] == "False"
        assert conditions(d)["Available"]["status"] == "False"
        assert conditions(d)["Available"]["reason"] == "MinimumReplicasUnavailable"
        assert d["status"]["unavailableReplicas"] == 1
        code, out = kubectl.run("rollout", "status", "deployment/late", "--timeout=10s")
        assert code != 0
        assert "exceeded its progress deadline" in out


def test_hash_collision_bumps_collision_count(
    server: CorralServer, api: Api, kubectl: Kubectl
) -> None:
    """A ReplicaSet of another template already holds ``<name>-<hash>``: the Deployment
    counts a collision and names its ReplicaSet with the next hash."""
    ns = kubectl.namespace
    with FakeKubelet(server, ns):
        kubectl.apply(deployment_yaml("coll", 1, paused=True))  # paused: no ReplicaSet yet
        template = api.deployment(ns, "coll")["spec"]["template"]
        taken = f"coll-{compute_hash(template)}"
        blocker = {
            "metadata": {"name": taken, "labels": {"app": "other"}},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "other"}},
                "template": {
                    "metadata": {"labels": {"app": "other"}},
                    "spec": {"containers": [{"name": "x", "image": "busybox"}]},
                },
            },
        }
        api.create(f"{APPS}/namespaces/{ns}/replicasets", blocker)
        kubectl("rollout", "resume", "deployment/coll")
        kubectl("rollout", "status", "deployment/coll", "--timeout=60s")
        d = api.deployment(ns, "coll")
        assert d["status"]["collisionCount"] == 1
        [rs] = owned_rss(api, ns, d)
        assert rs["metadata"]["name"] == f"coll-{compute_hash(template, 1)}"
        assert rs["metadata"]["name"] != taken


def test_adopts_a_matching_orphan_replica_set(
    server: CorralServer, api: Api, kubectl: Kubectl
) -> None:
    """An orphan ReplicaSet the selector matches is adopted, and used as the new one
    when its template is the Deployment's (apart from the hash label)."""
    ns = kubectl.namespace
    labels = {"app": "adopt", "pod-template-hash": "handmade"}
    orphan = api.create(
        f"{APPS}/namespaces/{ns}/replicasets",
        {
            "metadata": {"name": "adopt-handmade", "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "main", "image": "nginx:1"}]},
                },
            },
        },
    )
    with FakeKubelet(server, ns):
        kubectl.apply(deployment_yaml("adopt", 2))
        kubectl("rollout", "status", "deployment/adopt", "--timeout=60s")
        d = api.deployment(ns, "adopt")
        [rs] = api.replica_sets(ns)
        assert rs["metadata"]["uid"] == orphan["metadata"]["uid"]
        [ref] = rs["metadata"]["ownerReferences"]
        assert ref["uid"] == d["metadata"]["uid"]
        assert (ref["kind"], ref["controller"], ref["blockOwnerDeletion"]) == (
            "Deployment",
            True,
            True,
        )
        assert rs["spec"]["replicas"] == 2
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
        assert len(api.active_pods(ns)) == 2
