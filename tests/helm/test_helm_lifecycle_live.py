"""A Helm release's whole life against a real Corral server, driven by Helm v4.

One ``corral server`` with every built-in controller and two simulated
nodes, so the chart's Deployment really becomes Available and Helm's
``wait`` (kstatus watchers) has something to wait for. The chart
(charts/greeter: a ConfigMap, a Deployment, a Service) goes through install,
status, upgrade with changed values, history, rollback and uninstall; each
step is checked on the objects in Corral (kubectl) and on Helm's release
Secrets (type, labels, and the gzipped JSON release inside). Helm 3's
polling ``--wait`` (Helm 4's ``legacy`` strategy) is checked on a rollout too.

The same steps run twice, each in its own namespace: once on Helm's
defaults (Helm 4 installs with server-side apply) and once with Helm's
client-side apply option. The default path is skipped, with the reason,
while the server does not serve ``application/apply-patch+yaml``.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import helm_python as helm
import pytest

from kubectlproc import get_json, get_json_or_none, kubectl_ok
from polling import poll
from serverproc import CorralServer, controller_args, module_server

from .releases import (
    GREETER,
    RELEASE_SECRET_TYPE,
    ApplyMethod,
    decode_release,
    install,
    release_secrets,
    upgrade_forcing_conflicts,
)

ARGS = controller_args("*", "--simulate-nodes", "2")
ENV = {
    "CORRAL_SIM_LEASE_RENEW": "0.5",
    "CORRAL_SIM_STATUS_INTERVAL": "1",
    "CORRAL_SIM_POD_START_DELAY": "0.2",
}
RELEASE = "demo"

server = module_server("helm", ARGS, ENV)
eventually = partial(poll, deadline=60, interval=0.2)


def greeter(server: CorralServer, home: Path, ns: str) -> dict[str, Any]:
    """The chart's objects as Corral has them (None where one is missing)."""
    return {
        "configmap": get_json_or_none(server, home, "configmap", f"{RELEASE}-greeting", "-n", ns),
        "deployment": get_json_or_none(server, home, "deployment", f"{RELEASE}-web", "-n", ns),
        "service": get_json_or_none(server, home, "service", f"{RELEASE}-web", "-n", ns),
        "autoscaler": get_json_or_none(server, home, "hpa", f"{RELEASE}-web", "-n", ns),
    }


def release_pods(server: CorralServer, home: Path, ns: str) -> list[Any]:
    selector = f"app.kubernetes.io/instance={RELEASE}"
    items: list[Any] = get_json(server, home, "pods", "-n", ns, "-l", selector)["items"]
    return items


def image_of(deployment: dict[str, Any]) -> str:
    image: str = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    return image


def available(deployment: dict[str, Any], replicas: int) -> bool:
    status = deployment.get("status", {})
    conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
    return bool(
        status.get("availableReplicas") == replicas
        and status.get("updatedReplicas") == replicas
        and conditions.get("Available") == "True"
    )


def secret_labels(secret: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = secret["metadata"]["labels"]
    return {k: labels[k] for k in ("owner", "name", "status", "version")}


class Lifecycle:
    """install → status → upgrade → history → rollback → uninstall, in order."""

    apply: ClassVar[ApplyMethod]
    namespace: ClassVar[str]

    def test_install_waits_until_the_deployment_is_available(
        self, cfg: helm.Config, server: CorralServer, home: Path
    ) -> None:
        summary = install(cfg, RELEASE, {"replicas": 2, "greeting": "hello"}, self.apply)
        assert (summary["name"], summary["revision"], summary["status"]) == (
            RELEASE,
            1,
            "deployed",
        )
        assert "kind: Deployment" in summary["manifest"]

        objects = greeter(server, home, self.namespace)
        assert objects["configmap"]["data"] == {"greeting": "hello"}
        # ``wait`` returned only once the rollout was complete
        assert available(objects["deployment"], 2)
        assert objects["service"]["spec"]["selector"] == {"app.kubernetes.io/instance": RELEASE}
        assert objects["service"]["spec"]["clusterIP"]
        assert objects["autoscaler"] is None  # autoscaling.enabled is false
        pods = release_pods(server, home, self.namespace)
        assert len(pods) == 2
        assert all(p["status"]["phase"] == "Running" for p in pods)

    def test_the_release_secret_round_trips(self, server: CorralServer, home: Path) -> None:
        (secret,) = release_secrets(server, home, self.namespace, RELEASE)
        assert secret["type"] == RELEASE_SECRET_TYPE
        assert secret["metadata"]["name"] == f"sh.helm.release.v1.{RELEASE}.v1"
        assert secret_labels(secret) == {
            "owner": "helm",
            "name": RELEASE,
            "status": "deployed",
            "version": "1",
        }
        release = decode_release(secret)
        assert release["name"] == RELEASE
        assert release["namespace"] == self.namespace
        assert release["version"] == 1
        assert release["info"]["status"] == "deployed"
        assert release["chart"]["metadata"]["name"] == "greeter"
        assert release["config"] == {"replicas": 2, "greeting": "hello"}
        assert f"name: {RELEASE}-greeting" in release["manifest"]

    def test_status_reads_the_release_back(self, cfg: helm.Config) -> None:
        status = cfg.status(RELEASE)
        assert (status["revision"], status["status"]) == (1, "deployed")
        assert (status["chart_name"], status["chart_version"]) == ("greeter", "0.1.0")
        assert cfg.get_values(RELEASE) == {"replicas": 2, "greeting": "hello"}
        assert [r["name"] for r in cfg.list()] == [RELEASE]

    def test_upgrade_with_changed_values_changes_the_objects(
        self, cfg: helm.Config, server: CorralServer, home: Path
    ) -> None:
        values = {
            "replicas": 3,
            "greeting": "bonjour",
            "image": "nginx:2.0",
            "autoscaling": {"enabled": True},
        }
        summary = cfg.upgrade(GREETER, RELEASE, values, wait="watcher", timeout=90)
        assert (summary["revision"], summary["status"]) == (2, "deployed")

        objects = greeter(server, home, self.namespace)
        assert objects["configmap"]["data"] == {"greeting": "bonjour"}
        assert image_of(objects["deployment"]) == "nginx:2.0"
        assert available(objects["deployment"], 3)
        autoscaler = objects["autoscaler"]
        assert autoscaler is not None  # the upgrade added an object
        assert autoscaler["apiVersion"] == "autoscaling/v2"
        assert autoscaler["spec"]["scaleTargetRef"]["name"] == f"{RELEASE}-web"
        assert (autoscaler["spec"]["minReplicas"], autoscaler["spec"]["maxReplicas"]) == (3, 5)

        secrets = release_secrets(server, home, self.namespace, RELEASE)
        assert [secret_labels(s)["status"] for s in secrets] == ["superseded", "deployed"]
        assert decode_release(secrets[1])["config"] == values

    def test_history_lists_both_revisions(self, cfg: helm.Config) -> None:
        history = cfg.history(RELEASE)
        assert [(r["revision"], r["status"]) for r in history] == [
            (1, "superseded"),
            (2, "deployed"),
        ]

    def test_rollback_brings_the_objects_back(
        self, cfg: helm.Config, server: CorralServer, home: Path
    ) -> None:
        cfg.rollback(RELEASE, version=1, wait="watcher", timeout=90)

        objects = greeter(server, home, self.namespace)
        assert objects["configmap"]["data"] == {"greeting": "hello"}
        assert image_of(objects["deployment"]) == "nginx:1.0"
        assert objects["deployment"]["spec"]["replicas"] == 2
        assert objects["autoscaler"] is None  # revision 1 had none: Helm deleted it
        eventually(
            lambda: available(
                get_json(server, home, "deployment", f"{RELEASE}-web", "-n", self.namespace), 2
            ),
            what="rolled-back deployment available with 2 replicas",
        )

        history = cfg.history(RELEASE)
        assert [(r["revision"], r["status"]) for r in history] == [
            (1, "superseded"),
            (2, "superseded"),
            (3, "deployed"),
        ]
        secrets = release_secrets(server, home, self.namespace, RELEASE)
        assert [secret_labels(s)["version"] for s in secrets] == ["1", "2", "3"]
        rolled_back = decode_release(secrets[2])
        assert rolled_back["info"]["description"] == "Rollback to 1"
        assert rolled_back["config"] == {"replicas": 2, "greeting": "hello"}
        assert "HorizontalPodAutoscaler" not in rolled_back["manifest"]

    def test_uninstall_removes_the_objects_and_the_release_secrets(
        self, cfg: helm.Config, server: CorralServer, home: Path
    ) -> None:
        answer = cfg.uninstall(RELEASE, wait="watcher", timeout=90)
        assert answer["release"]["name"] == RELEASE

        assert greeter(server, home, self.namespace) == {
            "configmap": None,
            "deployment": None,
            "service": None,
            "autoscaler": None,
        }
        assert release_secrets(server, home, self.namespace, RELEASE) == []
        eventually(
            lambda: not release_pods(server, home, self.namespace), what="the release's pods gone"
        )
        assert cfg.list(all_states=True) == []
        with pytest.raises(helm.HelmNotFoundError):
            cfg.status(RELEASE)


class TestHelmDefaults(Lifecycle):
    apply = ApplyMethod.DEFAULT
    namespace = "helm-defaults"


class TestClientSideApply(Lifecycle):
    apply = ApplyMethod.CLIENT_SIDE
    namespace = "helm-client-side"


class Helm3Wait:
    """Helm 3's ``--wait`` (polling Deployments through their ReplicaSets), kept by Helm 4 as
    the ``legacy`` strategy, also returns only once rollouts are complete."""

    apply: ClassVar[ApplyMethod]
    namespace: ClassVar[str]

    def test_install_and_upgrade_wait_for_the_rollout(
        self, cfg: helm.Config, server: CorralServer, home: Path
    ) -> None:
        install(cfg, RELEASE, {"replicas": 1}, self.apply, wait="legacy")
        deployment = get_json(server, home, "deployment", f"{RELEASE}-web", "-n", self.namespace)
        assert available(deployment, 1)

        cfg.upgrade(
            GREETER, RELEASE, {"replicas": 3, "image": "nginx:2.0"}, wait="legacy", timeout=90
        )
        deployment = get_json(server, home, "deployment", f"{RELEASE}-web", "-n", self.namespace)
        assert image_of(deployment) == "nginx:2.0"
        assert available(deployment, 3)

        cfg.uninstall(RELEASE, wait="legacy", timeout=90)
        assert greeter(server, home, self.namespace)["deployment"] is None


class TestHelm3WaitDefaults(Helm3Wait):
    apply = ApplyMethod.DEFAULT
    namespace = "helm3-wait-defaults"


class TestHelm3WaitClientSide(Helm3Wait):
    apply = ApplyMethod.CLIENT_SIDE
    namespace = "helm3-wait-client-side"


class TestThreeWayMergeKeepsOutOfBandChanges:
    """Client-side apply (Helm 3's only method) upgrades with a three-way strategic merge
    patch of old manifest, new manifest and live object: what someone added by hand stays,
    what the chart sets is set again. Server-side apply treats drift differently (field
    ownership), so this is the client-side path only."""

    apply: ClassVar[ApplyMethod] = ApplyMethod.CLIENT_SIDE
    namespace: ClassVar[str] = "helm-drift"

    def test_upgrade_merges_with_what_changed_in_the_cluster(
        self, cfg: helm.Config, server: CorralServer, home: Path
    ) -> None:
        install(cfg, RELEASE, {}, self.apply)
        ns = ("-n", self.namespace)
        kubectl_ok(server, home, "scale", f"deployment/{RELEASE}-web", "--replicas=4", *ns)
        kubectl_ok(server, home, "set", "env", f"deployment/{RELEASE}-web", "EXTRA=1", *ns)
        kubectl_ok(server, home, "annotate", f"deployment/{RELEASE}-web", "team=blue", *ns)
        kubectl_ok(server, home, "label", f"configmap/{RELEASE}-greeting", "extra=yes", *ns)

        values = {"greeting": "hey", "image": "nginx:3.0"}
        cfg.upgrade(GREETER, RELEASE, values, wait="watcher", timeout=90)

        objects = greeter(server, home, self.namespace)
        deployment, configmap = objects["deployment"], objects["configmap"]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == "nginx:3.0"
        # env merges by name: the chart's entry and the hand-added one
        assert [e["name"] for e in container["env"]] == ["GREETING", "EXTRA"]
        assert deployment["metadata"]["annotations"]["team"] == "blue"
        # the chart sets replicas, so the patch sets them back over the drift
        assert deployment["spec"]["replicas"] == 2
        assert available(deployment, 2)
        assert configmap["data"] == {"greeting": "hey"}
        assert configmap["metadata"]["labels"]["extra"] == "yes"
        assert configmap["metadata"]["labels"]["app.kubernetes.io/instance"] == RELEASE


class TestServerSideApplyOwnsFields:
    """Helm 4's default upgrade is a server-side apply: a field the chart sets but someone
    else now owns (``kubectl scale`` owns ``spec.replicas``) is a conflict naming the field
    and its manager, and the upgrade fails; ``--force-conflicts`` takes the field back.
    Fields the chart does not set (a hand-added env var, an annotation) stay either way."""

    apply: ClassVar[ApplyMethod] = ApplyMethod.DEFAULT
    namespace: ClassVar[str] = "helm-ssa-drift"

    def test_upgrade_conflicts_on_a_field_kubectl_took_then_forces_it_back(
        self, cfg: helm.Config, server: CorralServer, home: Path
    ) -> None:
        install(cfg, RELEASE, {}, self.apply)
        ns = ("-n", self.namespace)
        kubectl_ok(server, home, "scale", f"deployment/{RELEASE}-web", "--replicas=4", *ns)
        kubectl_ok(server, home, "set", "env", f"deployment/{RELEASE}-web", "EXTRA=1", *ns)
        kubectl_ok(server, home, "annotate", f"deployment/{RELEASE}-web", "team=blue", *ns)
        values = {"greeting": "hey", "image": "nginx:3.0"}

        with pytest.raises(helm.HelmReleaseError) as conflict:
            cfg.upgrade(GREETER, RELEASE, values, wait="watcher", timeout=90)
        assert "conflict" in str(conflict.value)
        assert '"kubectl"' in str(conflict.value)
        assert ".spec.replicas" in str(conflict.value)
        assert [(r["revision"], r["status"]) for r in cfg.history(RELEASE)] == [
            (1, "deployed"),
            (2, "failed"),
        ]

        summary = upgrade_forcing_conflicts(cfg, RELEASE, values)
        assert (summary["revision"], summary["status"]) == (3, "deployed")
        deployment = greeter(server, home, self.namespace)["deployment"]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == "nginx:3.0"
        assert [e["name"] for e in container["env"]] == ["GREETING", "EXTRA"]
        assert deployment["metadata"]["annotations"]["team"] == "blue"
        assert deployment["spec"]["replicas"] == 2
        assert available(deployment, 2)
