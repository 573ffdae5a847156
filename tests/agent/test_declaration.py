"""What the agent declares, and that it makes exactly what the import manifest makes."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest

from corral.agent import DeclarationError
from corral.agent.declaration import (
    CLUSTER_ROLE,
    NAMESPACE,
    SERVICE_ACCOUNT,
    TOKEN_DIR,
    TOKEN_SECRET,
    Declaration,
    agent_rules,
    in_pod,
)
from corral.management import importmanifest


def test_the_agent_and_the_import_manifest_agree_on_names_rights_and_mount() -> None:
    assert agent_rules() == importmanifest.agent_cluster_role()["rules"]
    assert CLUSTER_ROLE == SERVICE_ACCOUNT == importmanifest.AGENT_NAME
    assert NAMESPACE == importmanifest.AGENT_NAMESPACE
    assert TOKEN_SECRET == importmanifest.AGENT_TOKEN_SECRET
    assert str(TOKEN_DIR) == importmanifest.AGENT_TOKEN_DIR


def test_in_a_pod_the_mounted_token_secret_is_declared(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("sa-token\n")
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    env = {
        "KUBERNETES_SERVICE_HOST": "fd00::1",
        "KUBERNETES_SERVICE_PORT": "443",
        "CORRAL_AGENT_TOKEN_DIR": str(tmp_path),
    }
    declared = in_pod(env)
    assert declared.address == "https://[fd00::1]:443"
    assert declared.host_port == ("fd00::1", 443)
    assert "sa-token" not in repr(declared)
    params = orjson.loads(base64.b64decode(declared.params()))
    assert params == {"address": declared.address, "caCert": declared.ca_cert, "token": "sa-token"}


def test_outside_a_pod_without_a_kubeconfig_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DeclarationError, match="pass --kubeconfig"):
        in_pod({})
    env = {
        "KUBERNETES_SERVICE_HOST": "10.0.0.1",
        "KUBERNETES_SERVICE_PORT": "443",
        "CORRAL_AGENT_TOKEN_DIR": str(tmp_path / "missing"),
    }
    with pytest.raises(DeclarationError, match="corral-agent-token"):
        in_pod(env)


def test_declared_hosts_compare_without_brackets() -> None:
    assert Declaration("https://Example.test:6443", "", "t").host_port == ("example.test", 6443)
