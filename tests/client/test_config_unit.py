"""Kubeconfig resolution, in-cluster configuration, TLS material and token files."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path
from typing import Any

import pytest
import yaml

from corral.client import ConfigError, in_cluster_config, kubeconfig_from_dict, load_kubeconfig
from corral.client.credentials import Authorizer, ssl_context
from corral.pki.certs import cert_pem, issue_serving_cert, key_pem, make_ca, utcnow
from corral.pki.sans import SubjectAltNames


@pytest.fixture(scope="module")
def pems() -> dict[str, bytes]:
    now = utcnow()
    ca, ca_key = make_ca(now)
    cert, key = issue_serving_cert(ca, ca_key, SubjectAltNames(dns=frozenset({"x"})), now)
    return {"ca": cert_pem(ca), "cert": cert_pem(cert), "key": key_pem(key)}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig(
    cluster: dict[str, Any], user: dict[str, Any], namespace: str | None = None, **extra: Any
) -> dict[str, Any]:
    context: dict[str, Any] = {"cluster": "c", "user": "u"}
    if namespace:
        context["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "ctx", "context": context}],
        "current-context": "ctx",
        **extra,
    }


def test_token_and_ca_data(pems: dict[str, bytes]) -> None:
    doc = kubeconfig(
        {"server": "https://k.example:6443/", "certificate-authority-data": b64(pems["ca"])},
        {"token": "s3cret"},
        namespace="team",
    )
    config = kubeconfig_from_dict(doc)
    assert config.server == "https://k.example:6443"
    assert config.ca_data == pems["ca"]
    assert config.namespace == "team"
    assert Authorizer(config).header() == "Bearer s3cret"
    assert "s3cret" not in repr(config)
    ctx = ssl_context(config)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert len(ctx.get_ca_certs()) == 1


def test_client_cert_files_relative_to_the_kubeconfig(
    tmp_path: Path, pems: dict[str, bytes]
) -> None:
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_bytes(pems["ca"])
    (tmp_path / "pki" / "me.crt").write_bytes(pems["cert"])
    (tmp_path / "pki" / "me.key").write_bytes(pems["key"])
    doc = kubeconfig(
        {"server": "https://k:6443", "certificate-authority": "pki/ca.crt"},
        {"client-certificate": "pki/me.crt", "client-key": "pki/me.key"},
    )
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(doc))
    config = load_kubeconfig(path)
    assert config.ca_file == tmp_path / "pki" / "ca.crt"
    assert config.client_cert_file == tmp_path / "pki" / "me.crt"
    assert config.namespace == "default"
    assert Authorizer(config).header() is None
    ssl_context(config)  # loads the pair; a mismatch or a bad file raises ConfigError


def test_client_cert_data(pems: dict[str, bytes]) -> None:
    doc = kubeconfig(
        {"server": "https://k:6443", "insecure-skip-tls-verify": True},
        {"client-certificate-data": b64(pems["cert"]), "client-key-data": b64(pems["key"])},
    )
    ctx = ssl_context(kubeconfig_from_dict(doc))
    assert ctx.verify_mode == ssl.CERT_NONE


def test_mismatched_client_key_is_a_config_error(pems: dict[str, bytes]) -> None:
    other = key_pem(make_ca(utcnow())[1])
    doc = kubeconfig(
        {"server": "https://k:6443"},
        {"client-certificate-data": b64(pems["cert"]), "client-key-data": b64(other)},
    )
    with pytest.raises(ConfigError, match="client certificate"):
        ssl_context(kubeconfig_from_dict(doc))


def test_kubeconfig_env_merges_first_wins(tmp_path: Path) -> None:
    first = kubeconfig({"server": "https://first:1"}, {"token": "one"})
    first["current-context"] = "other"
    first["contexts"].append({"name": "other", "context": {"cluster": "c2", "user": "u"}})
    first["clusters"].append({"name": "c2", "cluster": {"server": "https://second-c2:2"}})
    second = kubeconfig({"server": "https://second:2"}, {"token": "two"}, namespace="n2")
    (tmp_path / "a").write_text(yaml.safe_dump(first))
    (tmp_path / "b").write_text(yaml.safe_dump(second))
    env = {"KUBECONFIG": f"{tmp_path / 'missing'}:{tmp_path / 'a'}:{tmp_path / 'b'}"}
    config = load_kubeconfig(environ=env)
    assert config.server == "https://second-c2:2"
    assert config.token == "one"
    chosen = load_kubeconfig(environ=env, context="ctx")
    assert chosen.server == "https://first:1"
    assert chosen.namespace == "default"  # first file's ctx wins, and it has none


def test_token_file_is_reread_when_it_changes(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    doc = kubeconfig({"server": "https://k:6443"}, {"tokenFile": "token"})
    auth = Authorizer(kubeconfig_from_dict(doc, base_dir=tmp_path))
    assert auth.header() == "Bearer first"
    token.write_text("second-and-longer\n")
    assert auth.header() == "Bearer second-and-longer"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"clusters": []}, "current-context is not set"),
        (kubeconfig({"server": "https://k"}, {"token": "t"}, **{"current-context": "x"}), "'x'"),
        (kubeconfig({}, {"token": "t"}), "has no server"),
        (kubeconfig({"server": "https://k"}, {"exec": {"command": "x"}}), "exec"),
        (kubeconfig({"server": "https://k", "certificate-authority-data": "@@"}, {}), "base64"),
    ],
)
def test_bad_kubeconfigs(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        kubeconfig_from_dict(doc)


def test_missing_kubeconfig_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_kubeconfig(tmp_path / "nope")


def service_account(root: Path, ca: bytes, namespace: str | None = "apps") -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "token").write_text("sa-token")
    (root / "ca.crt").write_bytes(ca)
    if namespace is not None:
        (root / "namespace").write_text(namespace)


def test_in_cluster_config(tmp_path: Path, pems: dict[str, bytes]) -> None:
    service_account(tmp_path, pems["ca"])
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    config = in_cluster_config(tmp_path, env)
    assert config.server == "https://10.0.0.1:443"
    assert config.namespace == "apps"
    assert config.ca_file == tmp_path / "ca.crt"
    assert Authorizer(config).header() == "Bearer sa-token"
    ssl_context(config)


def test_in_cluster_ipv6_and_default_namespace(tmp_path: Path, pems: dict[str, bytes]) -> None:
    service_account(tmp_path, pems["ca"], namespace=None)
    env = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443"}
    config = in_cluster_config(tmp_path, env)
    assert config.server == "https://[fd00::1]:6443"
    assert config.namespace == "default"


def test_not_in_a_cluster(tmp_path: Path, pems: dict[str, bytes]) -> None:
    with pytest.raises(ConfigError, match="KUBERNETES_SERVICE_HOST"):
        in_cluster_config(tmp_path, {})
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    with pytest.raises(ConfigError, match="token is missing"):
        in_cluster_config(tmp_path, env)
