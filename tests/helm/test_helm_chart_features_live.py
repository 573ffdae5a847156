"""The parts of a chart beyond plain templates, run by Helm v4 against Corral.

charts/widgets brings a CRD in ``crds/`` and a custom resource of it,
cluster-scoped PriorityClass, StorageClass and IngressClass objects, a
template that ``lookup``s a live object, a post-install/post-upgrade hook
Job and a ``helm test`` Pod. One ``corral server`` with every built-in
controller and a simulated node runs the hook and test pods; a simulated
container ends with the exit code its ``corral.io/simulate-exit-code``
annotation names. Checked on what a user would see: the CRD established
before the custom resource is created, the hook Job complete and recorded
in the release, ``helm test`` passing and failing with its pod, a value the
CRD's schema refuses failing the upgrade with the field named (and
``rollback_on_failure`` restoring the last good revision), and uninstall
removing the release but, as Helm does, keeping the CRD.

As in the lifecycle module, each class is one apply method in its own
namespace, and the Helm-defaults class is skipped while the server does not
serve server-side apply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import helm_python as helm
import pytest

from kubectlproc import get_json, get_json_or_none
from serverproc import CorralServer, controller_args, module_server

from .releases import (
    WAIT_SECONDS,
    WIDGETS,
    ApplyMethod,
    decode_release,
    install,
    release_secrets,
)

ARGS = controller_args("*", "--simulate-nodes", "1")
ENV = {
    "CORRAL_SIM_LEASE_RENEW": "0.5",
    "CORRAL_SIM_STATUS_INTERVAL": "1",
    "CORRAL_SIM_POD_START_DELAY": "0.2",
}
RELEASE = "w"
CRD = "widgets.example.corral.io"

server = module_server("helm-features", ARGS, ENV)


def widget(server: CorralServer, home: Path, ns: str) -> dict[str, Any] | None:
    return get_json_or_none(
        server, home, "widgets.example.corral.io", f"{RELEASE}-widget", "-n", ns
    )


def cluster_classes(server: CorralServer, home: Path, ns: str) -> dict[str, Any]:
    """The chart's cluster-scoped objects (named after the release namespace), by what
    tells each apart: a priority's value, a provisioner, an ingress controller."""
    priority = get_json_or_none(server, home, "priorityclass", f"{ns}-important")
    storage = get_json_or_none(server, home, "storageclass", f"{ns}-fast")
    ingress = get_json_or_none(server, home, "ingressclass", f"{ns}-widgets")
    return {
        "priorityclass": priority and priority["value"],
        "storageclass": storage and storage["provisioner"],
        "ingressclass": ingress and ingress["spec"]["controller"],
    }


def established(crd: dict[str, Any]) -> bool:
    conditions = {c["type"]: c["status"] for c in crd.get("status", {}).get("conditions", [])}
    return conditions.get("Established") == "True"


def history(cfg: helm.Config) -> list[tuple[int, str]]:
    return [(r["revision"], r["status"]) for r in cfg.history(RELEASE)]


def upgrade(cfg: helm.Config, values: dict[str, Any], **options: Any) -> dict[str, Any]:
    return cfg.upgrade(WIDGETS, RELEASE, values, wait="watcher", timeout=WAIT_SECONDS, **options)


class ChartFeatures:
    """install → test → refused upgrade → rollback on failure → failing test → uninstall."""

    apply: ClassVar[ApplyMethod]
    namespace: ClassVar[str]

    def test_install_creates_the_crd_first_and_runs_the_post_install_hook(
        self, cfg: helm.Config, server: CorralServer, home: Path
    ) -> None:
        summary = install(cfg, RELEASE, {}, self.apply, chart=WIDGETS)
        assert (summary["revision"], summary["status"]) == (1, "deployed")

        assert established(get_json(server, home, "crd", CRD))
        resource = widget(server, home, self.namespace)
        assert resource is not None
        assert resource["spec"] == {"size": "small"}

        assert cluster_classes(server, home, self.namespace) == {
            "priorityclass": 1000,
            "storageclass": "example.corral.io/fast",
            "ingressclass": "example.corral.io/widgets",
        }

        job = get_json(server, home, "job", f"{RELEASE}-announce", "-n", self.namespace)
        assert job["status"].get("succeeded") == 1
        (secret,) = release_secrets(server, home, self.namespace, RELEASE)
        hooks = {h["name"]: h for h in decode_release(secret)["hooks"]}
        assert hooks[f"{RELEASE}-announce"]["events"] == ["post-install", "post-upgrade"]
        assert hooks[f"{RELEASE}-announce"]["last_run"]["phase"] == "Succeeded"

    def test_lookup_rendered_a_live_object(self, server: CorralServer, home: Path) -> None:
        namespace = get_json(server, home, "namespace", self.namespace)
        seen = get_json(server, home, "configmap", f"{RELEASE}-seen", "-n", self.namespace)
        assert seen["data"] == {"namespaceUID": namespace["metadata"]["uid"]}

    def test_helm_test_runs_the_test_pod(
        self, cfg: helm.Config, server: CorralServer, home: Path
    ) -> None:
        result = cfg.test(RELEASE, timeout=WAIT_SECONDS, logs=True)
        assert result["release"]["status"] == "deployed"
        assert f"POD LOGS: {RELEASE}-test" in result["logs"]
        pod = get_json(server, home, "pod", f"{RELEASE}-test", "-n", self.namespace)
        assert pod["status"]["phase"] == "Succeeded"

    def test_a_value_the_crd_refuses_fails_the_upgrade_naming_the_field(
        self, cfg: helm.Config, server: CorralServer, home: Path
    ) -> None:
        with pytest.raises(helm.HelmReleaseError) as refused:
            upgrade(cfg, {"size": "huge"})
        assert "spec.size" in str(refused.value)
        assert 'Unsupported value: "huge"' in str(refused.value)

        assert history(cfg) == [(1, "deployed"), (2, "failed")]
        resource = widget(server, home, self.namespace)
        assert resource is not None
        assert resource["spec"] == {"size": "small"}
        labels = [
            s["metadata"]["labels"] for s in release_secrets(server, home, self.namespace, RELEASE)
        ]
        assert [(lb["version"], lb["status"]) for lb in labels] == [
            ("1", "deployed"),
            ("2", "failed"),
        ]

    def test_rollback_on_failure_restores_the_last_good_revision(
        self, cfg: helm.Config, server: CorralServer, home: Path
    ) -> None:
        upgrade(cfg, {"size": "large"})
        resource = widget(server, home, self.namespace)
        assert resource is not None
        assert resource["spec"] == {"size": "large"}

        with pytest.raises(helm.HelmReleaseError, match="rolled back"):
            upgrade(cfg, {"size": "huge"}, rollback_on_failure=True)
        assert history(cfg)[-2:] == [(4, "failed"), (5, "deployed")]
        assert cfg.get_values(RELEASE) == {"size": "large"}
        resource = widget(server, home, self.namespace)
        assert resource is not None
        assert resource["spec"] == {"size": "large"}

    def test_a_failing_test_pod_fails_helm_test(
        self, cfg: helm.Config, server: CorralServer, home: Path
    ) -> None:
        upgrade(cfg, {"size": "large", "testExitCode": "3"})
        with pytest.raises(helm.HelmReleaseError, match=f"{RELEASE}-test"):
            cfg.test(RELEASE, timeout=WAIT_SECONDS)
        pod = get_json(server, home, "pod", f"{RELEASE}-test", "-n", self.namespace)
        assert pod["status"]["phase"] == "Failed"

    def test_uninstall_removes_the_release_but_keeps_the_crd(
        self, cfg: helm.Config, server: CorralServer, home: Path
    ) -> None:
        cfg.uninstall(RELEASE, wait="watcher", timeout=WAIT_SECONDS)
        assert widget(server, home, self.namespace) is None
        assert (
            get_json_or_none(server, home, "configmap", f"{RELEASE}-seen", "-n", self.namespace)
            is None
        )
        assert release_secrets(server, home, self.namespace, RELEASE) == []
        assert cluster_classes(server, home, self.namespace) == {
            "priorityclass": None,
            "storageclass": None,
            "ingressclass": None,
        }
        assert established(get_json(server, home, "crd", CRD))


class TestHelmDefaults(ChartFeatures):
    apply = ApplyMethod.DEFAULT
    namespace = "widgets-defaults"


class TestClientSideApply(ChartFeatures):
    apply = ApplyMethod.CLIENT_SIDE
    namespace = "widgets-client-side"
