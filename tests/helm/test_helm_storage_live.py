"""Helm's release storage in Corral beyond the default Secret driver.

Helm can keep releases in ConfigMaps instead of Secrets (the ``configmap``
storage driver): the same labels, and the gzipped JSON release base64-encoded
once in the ConfigMap's ``release`` key. ``helm list --all-namespaces`` finds
releases with one cluster-wide, label-selected list of Secrets. No
controllers run here and nothing waits: only the API and Helm's storage are
under test, so these run on client-side apply whatever the server serves.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import helm_python as helm
import pytest

from kubectlproc import get_json, kubectl_ok
from serverproc import CorralServer, module_server

from .releases import GREETER, ApplyMethod, install, release_secrets

server = module_server("helm-storage")


def install_quickly(cfg: helm.Config, name: str, values: dict[str, Any]) -> None:
    """``helm install`` without ``wait``: no controllers run here."""
    install(cfg, name, values, ApplyMethod.CLIENT_SIDE, wait=None)


@pytest.fixture(scope="class")
def cm_cfg(server: CorralServer, release_namespace: str) -> Iterator[helm.Config]:
    """Helm keeping its releases in ConfigMaps of the class's namespace."""
    with helm.Config(
        kubeconfig_path=server.kubeconfig_path,
        namespace=release_namespace,
        storage_driver="configmap",
    ) as config:
        yield config


class TestConfigMapDriver:
    apply: ClassVar[ApplyMethod] = ApplyMethod.CLIENT_SIDE
    namespace: ClassVar[str] = "helm-configmaps"

    def test_releases_round_trip_through_configmaps(
        self, cm_cfg: helm.Config, server: CorralServer, home: Path
    ) -> None:
        install_quickly(cm_cfg, "cm", {"greeting": "hi"})
        cm_cfg.upgrade(GREETER, "cm", {"greeting": "ho"})

        selector = "owner=helm,name=cm"
        stored = get_json(server, home, "configmaps", "-n", self.namespace, "-l", selector)
        by_version = {c["metadata"]["labels"]["version"]: c for c in stored["items"]}
        assert sorted(by_version) == ["1", "2"]
        assert by_version["1"]["metadata"]["labels"]["status"] == "superseded"
        assert by_version["2"]["metadata"]["labels"]["status"] == "deployed"
        release = json.loads(gzip.decompress(base64.b64decode(by_version["2"]["data"]["release"])))
        assert (release["name"], release["version"]) == ("cm", 2)
        assert release["config"] == {"greeting": "ho"}
        assert release_secrets(server, home, self.namespace, "cm") == []

        assert [(r["revision"], r["status"]) for r in cm_cfg.history("cm")] == [
            (1, "superseded"),
            (2, "deployed"),
        ]
        cm_cfg.uninstall("cm")
        assert get_json(server, home, "configmaps", "-n", self.namespace, "-l", selector) == {
            "apiVersion": "v1",
            "items": [],
            "kind": "List",
            "metadata": {"resourceVersion": ""},
        }


class TestListAcrossNamespaces:
    apply: ClassVar[ApplyMethod] = ApplyMethod.CLIENT_SIDE
    namespace: ClassVar[str] = "helm-list-a"

    def test_list_all_namespaces_finds_every_release(
        self, cfg: helm.Config, server: CorralServer, home: Path
    ) -> None:
        kubectl_ok(server, home, "create", "namespace", "helm-list-b")
        install_quickly(cfg, "one", {})
        with helm.Config(kubeconfig_path=server.kubeconfig_path, namespace="helm-list-b") as other:
            install_quickly(other, "two", {})

        found = cfg.list(all_namespaces=True)
        assert sorted((r["namespace"], r["name"]) for r in found) == [
            ("helm-list-a", "one"),
            ("helm-list-b", "two"),
        ]
        assert [r["name"] for r in cfg.list()] == ["one"]
