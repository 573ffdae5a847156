"""DeleteOptions Kubernetes honours, against a real ``corral server``.

Driven as users drive them: the real kubectl (``--cascade``,
``--grace-period``, ``--force``) and the official Python client (query
parameters and DeleteOptions bodies). The server runs only the namespace
controller, so nothing but the API acts on the finalizers and graceful
deletions these tests look at; pods are bound to a node nobody runs, so a
graceful deletion stays pending, exactly as it would in Kubernetes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config  # type: ignore[import-untyped]
from kubernetes.client.rest import ApiException  # type: ignore[import-untyped]

from kubectlproc import kubectl_ok, run_kubectl
from serverproc import CorralServer, module_server

GHOST_NODE = "node-nobody-runs"


server = module_server("delopts", ["--controllers", "namespace"])


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kubectl-home")


@pytest.fixture(scope="module")
def api(server: CorralServer) -> Iterator[Any]:
    api_client = config.new_client_from_config(config_file=str(server.kubeconfig_path))
    api_client.set_default_header("Connection", "close")
    yield api_client
    api_client.close()


@pytest.fixture(scope="module")
def core(api: Any) -> Any:
    return client.CoreV1Api(api)


@pytest.fixture(scope="module")
def apps(api: Any) -> Any:
    return client.AppsV1Api(api)


@pytest.fixture
def ns(core: Any) -> str:
    name = "del-" + uuid.uuid4().hex[:8]
    core.create_namespace({"metadata": {"name": name}})
    return name


def deployment(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]},
            },
        },
    }


def pod(name: str, node: str = GHOST_NODE, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"containers": [{"name": "c", "image": "nginx:1.27"}], **spec}
    if node:
        body["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": body}


def apply(server: CorralServer, home: Path, ns: str, obj: dict[str, Any]) -> None:
    kubectl_ok(server, home, "apply", "-n", ns, "-f", "-", stdin=json.dumps(obj))


def kubectl_json(server: CorralServer, home: Path, *args: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(kubectl_ok(server, home, *args, "-o", "json"))
    return out


def gone(server: CorralServer, home: Path, ns: str, kind: str, name: str) -> bool:
    done = run_kubectl(server, home, "get", "-n", ns, kind, name)
    return done.returncode != 0 and "NotFound" in done.stderr


def seconds_from_now(stamp: str) -> float:
    when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()


def test_cascade_orphan_then_background(
    server: CorralServer, home: Path, apps: Any, ns: str
) -> None:
    apply(server, home, ns, deployment("web"))
    kubectl_ok(
        server, home, "delete", "-n", ns, "deploy", "web", "--cascade=orphan", "--wait=false"
    )
    meta = kubectl_json(server, home, "get", "-n", ns, "deploy", "web")["metadata"]
    assert meta["finalizers"] == ["orphan"]
    assert meta["deletionTimestamp"]
    # Deleting again without a policy keeps the orphan finalizer...
    apps.delete_namespaced_deployment("web", ns)
    again = apps.read_namespaced_deployment("web", ns).metadata
    assert again.finalizers == ["orphan"]
    assert again.deletion_timestamp.strftime("%Y-%m-%dT%H:%M:%SZ") == meta["deletionTimestamp"]
    # ...and kubectl's default, Background, takes it away, so the deployment goes.
    kubectl_ok(server, home, "delete", "-n", ns, "deploy", "web", "--wait=false")
    assert gone(server, home, ns, "deploy", "web")


def test_cascade_foreground(server: CorralServer, home: Path, ns: str) -> None:
    apply(server, home, ns, deployment("api"))
    kubectl_ok(
        server, home, "delete", "-n", ns, "deploy", "api", "--cascade=foreground", "--wait=false"
    )
    meta = kubectl_json(server, home, "get", "-n", ns, "deploy", "api")["metadata"]
    assert meta["finalizers"] == ["foregroundDeletion"]
    assert meta["deletionTimestamp"]


def test_background_is_the_default(server: CorralServer, home: Path, ns: str) -> None:
    apply(server, home, ns, deployment("plain"))
    kubectl_ok(server, home, "delete", "-n", ns, "deploy", "plain")
    assert gone(server, home, ns, "deploy", "plain")


def test_bound_pod_terminates_gracefully(server: CorralServer, home: Path, ns: str) -> None:
    apply(server, home, ns, pod("p"))
    kubectl_ok(server, home, "delete", "-n", ns, "pod", "p", "--wait=false")
    meta = kubectl_json(server, home, "get", "-n", ns, "pod", "p")["metadata"]
    assert meta["deletionGracePeriodSeconds"] == 30
    assert 20 < seconds_from_now(meta["deletionTimestamp"]) <= 31
    listed = kubectl_ok(server, home, "get", "-n", ns, "pods")
    assert "Terminating" in listed
    # A shorter grace period is taken; a longer one is not.
    kubectl_ok(server, home, "delete", "-n", ns, "pod", "p", "--grace-period=5", "--wait=false")
    meta = kubectl_json(server, home, "get", "-n", ns, "pod", "p")["metadata"]
    assert meta["deletionGracePeriodSeconds"] == 5
    kubectl_ok(server, home, "delete", "-n", ns, "pod", "p", "--grace-period=60", "--wait=false")
    assert kubectl_json(server, home, "get", "-n", ns, "pod", "p")["metadata"] == meta
    kubectl_ok(server, home, "delete", "-n", ns, "pod", "p", "--grace-period=0", "--force")
    assert gone(server, home, ns, "pod", "p")


def test_pod_grace_period_comes_from_its_spec(core: Any, ns: str) -> None:
    core.create_namespaced_pod(ns, pod("short", terminationGracePeriodSeconds=7))
    core.delete_namespaced_pod("short", ns)
    meta = core.read_namespaced_pod("short", ns).metadata
    assert meta.deletion_grace_period_seconds == 7
    # The node agent finishes the deletion with gracePeriodSeconds=0.
    core.delete_namespaced_pod("short", ns, grace_period_seconds=0)
    with pytest.raises(ApiException) as info:
        core.read_namespaced_pod("short", ns)
    assert info.value.status == 404


def test_unbound_pod_goes_at_once(core: Any, ns: str) -> None:
    core.create_namespaced_pod(ns, pod("pending", node=""))
    deleted = core.delete_namespaced_pod("pending", ns)
    assert deleted.metadata.name == "pending"
    with pytest.raises(ApiException) as info:
        core.read_namespaced_pod("pending", ns)
    assert info.value.status == 404


def test_grace_period_does_nothing_for_other_kinds(core: Any, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "c"}})
    core.delete_namespaced_config_map("c", ns, grace_period_seconds=30)
    assert core.list_namespaced_config_map(ns).items == []


def test_bad_options_are_refused(core: Any, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "keep"}})
    with pytest.raises(ApiException) as both:
        core.delete_namespaced_config_map(
            "keep", ns, orphan_dependents=True, propagation_policy="Foreground"
        )
    status = json.loads(both.value.body)
    assert (both.value.status, status["reason"]) == (422, "Invalid")
    assert "orphanDependents and deletionPropagation cannot be both set" in status["message"]
    with pytest.raises(ApiException) as unknown:
        core.delete_namespaced_config_map("keep", ns, propagation_policy="Sometime")
    status = json.loads(unknown.value.body)
    assert unknown.value.status == 422
    assert status["details"]["causes"][0]["field"] == "propagationPolicy"
    assert core.read_namespaced_config_map("keep", ns).metadata.deletion_timestamp is None


def test_orphan_dependents_maps_to_policies(core: Any, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "o"}})
    core.delete_namespaced_config_map("o", ns, orphan_dependents=True)
    assert core.read_namespaced_config_map("o", ns).metadata.finalizers == ["orphan"]
    core.delete_namespaced_config_map("o", ns, orphan_dependents=False)
    assert core.list_namespaced_config_map(ns).items == []


def test_dry_run_deletes_change_nothing(core: Any, ns: str) -> None:
    core.create_namespaced_pod(ns, pod("dry"))
    core.create_namespaced_config_map(ns, {"metadata": {"name": "dry"}})
    before_pod = core.read_namespaced_pod("dry", ns).metadata.resource_version
    answered = core.delete_namespaced_pod("dry", ns, dry_run="All")
    assert answered.metadata.deletion_timestamp is not None
    body = client.V1DeleteOptions(dry_run=["All"], propagation_policy="Orphan")
    core.delete_namespaced_config_map("dry", ns, body=body)
    core.delete_collection_namespaced_config_map(ns, dry_run="All")
    after_pod = core.read_namespaced_pod("dry", ns).metadata
    assert after_pod.resource_version == before_pod
    assert after_pod.deletion_timestamp is None
    cm = core.read_namespaced_config_map("dry", ns).metadata
    assert cm.finalizers is None
    assert cm.deletion_timestamp is None


def test_preconditions_still_hold(core: Any, ns: str) -> None:
    made = core.create_namespaced_config_map(ns, {"metadata": {"name": "pre"}})
    body = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="not-the-uid"))
    with pytest.raises(ApiException) as info:
        core.delete_namespaced_config_map("pre", ns, body=body)
    assert info.value.status == 409
    body = client.V1DeleteOptions(
        preconditions=client.V1Preconditions(uid=made.metadata.uid),
        propagation_policy="Foreground",
    )
    core.delete_namespaced_config_map("pre", ns, body=body)
    held = core.read_namespaced_config_map("pre", ns).metadata
    assert held.finalizers == ["foregroundDeletion"]


def test_deletecollection_applies_options_to_each(core: Any, ns: str) -> None:
    for name in ("a", "b"):
        core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": {"x": "1"}}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "other"}})
    core.delete_collection_namespaced_config_map(
        ns, label_selector="x=1", propagation_policy="Orphan"
    )
    items = {i.metadata.name: i.metadata for i in core.list_namespaced_config_map(ns).items}
    assert set(items) == {"a", "b", "other"}
    assert items["a"].finalizers == items["b"].finalizers == ["orphan"]
    assert items["a"].deletion_timestamp is not None
    assert items["other"].deletion_timestamp is None
