"""The bootstrap admin token: issued once, kept as a hash, rotated by deleting
the kubeconfig, and accepted in constant time as the ``admin`` user."""

from __future__ import annotations

import base64
import hashlib
import logging
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from corral.auth import (
    ADMIN_TOKEN_KEY,
    BootstrapTokenAuthenticator,
    ensure_admin_credentials,
)
from corral.auth.bearer import bearer_token
from corral.storage import Backend, open_backend

CA_PEM = b"-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n"
SERVER = "https://127.0.0.1:8443"


@pytest.fixture
async def backend() -> AsyncIterator[Backend]:
    store = open_backend("memory://")
    await store.start()
    yield store
    await store.close()


def read_kubeconfig(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def token_of(path: Path) -> str:
    token: str = read_kubeconfig(path)["users"][0]["user"]["token"]
    return token


async def test_first_start_issues_token_hash_and_kubeconfig(
    backend: Backend, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "admin.kubeconfig"
    creds = await ensure_admin_credentials(backend, path, SERVER, CA_PEM)
    assert creds.issued_new_token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    doc = read_kubeconfig(path)
    assert doc["current-context"] == "corral"
    assert doc["contexts"] == [
        {"name": "corral", "context": {"cluster": "corral", "user": "admin"}}
    ]
    (cluster,) = doc["clusters"]
    assert cluster["name"] == "corral"
    assert cluster["cluster"]["server"] == SERVER
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == CA_PEM
    token = token_of(path)
    assert len(token) >= 40

    kv = await backend.get(ADMIN_TOKEN_KEY)
    assert kv is not None
    record = orjson.loads(kv.value)
    assert record["sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert token.encode() not in kv.value
    assert creds.token_hash == record["sha256"]
    assert token not in caplog.text


async def test_restart_keeps_the_token(backend: Backend, tmp_path: Path) -> None:
    path = tmp_path / "admin.kubeconfig"
    await ensure_admin_credentials(backend, path, SERVER, CA_PEM)
    before = path.read_bytes()
    creds = await ensure_admin_credentials(backend, path, SERVER, CA_PEM)
    assert not creds.issued_new_token
    assert path.read_bytes() == before


async def test_restart_on_another_port_updates_the_server_keeps_the_token(
    backend: Backend, tmp_path: Path
) -> None:
    path = tmp_path / "admin.kubeconfig"
    await ensure_admin_credentials(backend, path, SERVER, CA_PEM)
    token = token_of(path)
    creds = await ensure_admin_credentials(backend, path, "https://127.0.0.1:9443", CA_PEM)
    assert not creds.issued_new_token
    assert read_kubeconfig(path)["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:9443"
    assert token_of(path) == token


async def test_deleting_the_kubeconfig_rotates_the_token(backend: Backend, tmp_path: Path) -> None:
    path = tmp_path / "admin.kubeconfig"
    first = await ensure_admin_credentials(backend, path, SERVER, CA_PEM)
    old_token = token_of(path)
    path.unlink()
    second = await ensure_admin_credentials(backend, path, SERVER, CA_PEM)
    assert second.issued_new_token
    new_token = token_of(path)
    assert new_token != old_token
    assert second.token_hash != first.token_hash
    authn = BootstrapTokenAuthenticator(second.token_hash)
    assert await authn.authenticate({"authorization": f"Bearer {old_token}"}) is None
    assert await authn.authenticate({"authorization": f"Bearer {new_token}"}) is not None


async def test_edited_kubeconfig_is_left_alone(
    backend: Backend, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "admin.kubeconfig"
    await ensure_admin_credentials(backend, path, SERVER, CA_PEM)
    path.write_text("apiVersion: v1\nkind: Config\nusers: []\n")
    creds = await ensure_admin_credentials(backend, path, SERVER, CA_PEM)
    assert not creds.issued_new_token
    assert path.read_text() == "apiVersion: v1\nkind: Config\nusers: []\n"
    assert "delete it and restart" in caplog.text


async def test_authenticator_accepts_only_the_admin_token() -> None:
    token = "s3cret-token"
    authn = BootstrapTokenAuthenticator(hashlib.sha256(token.encode()).hexdigest())
    user = await authn.authenticate({"authorization": f"Bearer {token}"})
    assert user is not None
    assert user.name == "admin"
    assert set(user.groups) == {"system:masters", "system:authenticated"}
    assert await authn.authenticate({"authorization": f"bearer {token}"}) is not None
    for bad in ("Bearer wrong", f"Basic {token}", "Bearer", "", f"Bearer {token} x"):
        assert await authn.authenticate({"authorization": bad}) is None
    assert await authn.authenticate({}) is None


def test_bearer_token_parsing() -> None:
    assert bearer_token({"authorization": "Bearer abc"}) == "abc"
    assert bearer_token({"authorization": "  BEARER   abc  "}) == "abc"
    assert bearer_token({"authorization": "Token abc"}) is None
    assert bearer_token({}) is None
