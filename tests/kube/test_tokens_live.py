"""The tokens controller against a real ``corral server``: token Secrets filled, and they log in.

A Secret of type ``kubernetes.io/service-account-token`` naming a service
account gets ``token``, ``ca.crt`` and ``namespace``; its token works with
kubectl while the Secret and the account exist; deleting the account
deletes the Secret. Until ``corral.kube.tokens`` is registered in the
controller manager, the controller runs in this test process, against the
server over HTTPS with the admin kubeconfig and the server's own signing
key (so the tokens it writes are the server's); once registered, the
server runs it and these tests need no change. Every wait polls with a
deadline.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from controllerthread import new_context, running
from corral.auth import ServiceAccountTokens
from corral.client import Client
from corral.kube import manager, tokens
from corral.kube.context import KubeOptions
from corral.pki.signingkey import ensure_service_account_key
from kubectlproc import run_kubectl
from polling import eventually
from serverproc import CorralServer, running_server

DEADLINE = 20.0
NAMESPACE = "robots"
REGISTERED = "serviceaccount-token" in manager.CONTROLLERS

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: {name}
  namespace: robots
  annotations:
    kubernetes.io/service-account.name: {account}
type: kubernetes.io/service-account-token
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorralServer]:
    names = "serviceaccount,serviceaccount-token" if REGISTERED else "serviceaccount"
    args = ("--controllers", names)
    with running_server(tmp_path_factory.mktemp("tokens") / "data", args) as s:
        yield s


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


async def kubectl(
    server: CorralServer, home: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """kubectl in a worker thread: the in-process controller shares this event loop."""
    return await asyncio.to_thread(run_kubectl, server, home, *args, stdin=stdin)


async def ok(server: CorralServer, home: Path, *args: str, stdin: str = "") -> str:
    done = await kubectl(server, home, *args, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


wait_for = partial(eventually, deadline=DEADLINE)


@pytest.fixture
async def controller(server: CorralServer, home: Path) -> AsyncIterator[None]:
    """The tokens controller: the server's own once registered, else one run here."""
    if (await kubectl(server, home, "get", "namespace", NAMESPACE)).returncode != 0:
        await ok(server, home, "create", "namespace", NAMESPACE)
    if REGISTERED:
        yield
        return
    key = ensure_service_account_key(server.data_dir / "tls")
    options = KubeOptions(
        ca_pem=server.ca_path.read_bytes(), token_issuer=ServiceAccountTokens(key)
    )
    async with Client.from_kubeconfig(server.kubeconfig_path) as api:
        ctx = new_context(api, options=options)
        async with running(ctx, tokens.build(ctx)):
            yield


async def secret(server: CorralServer, home: Path, name: str) -> dict[str, Any] | None:
    done = await kubectl(server, home, "get", "secret", name, "-n", NAMESPACE, "-o", "json")
    if done.returncode != 0:
        assert "NotFound" in done.stderr or "not found" in done.stderr, done.stderr
        return None
    obj: dict[str, Any] = json.loads(done.stdout)
    return obj


async def filled(server: CorralServer, home: Path, name: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        obj = await secret(server, home, name)
        return obj if obj and (obj.get("data") or {}).get("token") else None

    result: dict[str, Any] = await wait_for(check, f"secret {name} gets a token")
    return result


def decoded(obj: dict[str, Any], key: str) -> str:
    return base64.b64decode(obj["data"][key]).decode()


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    result: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    return result


async def works(server: CorralServer, home: Path, token: str) -> bool:
    """The token authenticates (``auth whoami`` needs no RBAC grant beyond the defaults)."""
    done = await kubectl(server, home, "--token", token, "auth", "whoami")
    return done.returncode == 0 and f"system:serviceaccount:{NAMESPACE}:" in done.stdout


async def test_token_secret_is_filled_and_logs_in(
    server: CorralServer, home: Path, controller: None
) -> None:
    await ok(server, home, "create", "serviceaccount", "robot", "-n", NAMESPACE)
    await ok(
        server, home, "apply", "-f", "-", stdin=SECRET.format(name="robot-token", account="robot")
    )
    obj = await filled(server, home, "robot-token")
    sa_uid = (
        await ok(
            server, home, "get", "sa", "robot", "-n", NAMESPACE, "-o", "jsonpath={.metadata.uid}"
        )
    ).strip()
    assert decoded(obj, "namespace") == NAMESPACE
    assert decoded(obj, "ca.crt") == server.ca_path.read_text()
    assert obj["metadata"]["annotations"]["kubernetes.io/service-account.uid"] == sa_uid
    token = decoded(obj, "token")
    said = claims(token)
    assert "exp" not in said
    assert said["sub"] == f"system:serviceaccount:{NAMESPACE}:robot"
    assert said["kubernetes.io"]["secret"] == {
        "name": "robot-token",
        "uid": obj["metadata"]["uid"],
    }
    assert await works(server, home, token)
    await ok(server, home, "delete", "secret", "robot-token", "-n", NAMESPACE)

    async def refused() -> bool:
        return not await works(server, home, token)

    await wait_for(refused, "a deleted secret's token is refused")
    assert token not in server.stderr()


async def test_deleting_the_account_deletes_its_token_secrets(
    server: CorralServer, home: Path, controller: None
) -> None:
    await ok(server, home, "create", "serviceaccount", "temp", "-n", NAMESPACE)
    await ok(
        server, home, "apply", "-f", "-", stdin=SECRET.format(name="temp-token", account="temp")
    )
    token = decoded(await filled(server, home, "temp-token"), "token")
    assert await works(server, home, token)
    await ok(server, home, "delete", "serviceaccount", "temp", "-n", NAMESPACE)

    async def gone() -> bool:
        return await secret(server, home, "temp-token") is None

    await wait_for(gone, "the token secret of a deleted account is deleted")
    assert not await works(server, home, token)


async def test_secret_naming_a_missing_account_is_deleted(
    server: CorralServer, home: Path, controller: None
) -> None:
    await ok(server, home, "apply", "-f", "-", stdin=SECRET.format(name="orphan", account="ghost"))

    async def gone() -> bool:
        return await secret(server, home, "orphan") is None

    await wait_for(gone, "a token secret for a missing account is deleted")


async def test_a_broken_token_is_reissued(
    server: CorralServer, home: Path, controller: None
) -> None:
    await ok(server, home, "create", "serviceaccount", "fixme", "-n", NAMESPACE)
    await ok(
        server, home, "apply", "-f", "-", stdin=SECRET.format(name="fixme-token", account="fixme")
    )
    first = decoded(await filled(server, home, "fixme-token"), "token")
    garbage = base64.b64encode(b"not-a-token").decode()
    patch = json.dumps({"data": {"token": garbage}})
    await ok(server, home, "patch", "secret", "fixme-token", "-n", NAMESPACE, "-p", patch)

    async def reissued() -> str:
        obj = await secret(server, home, "fixme-token")
        token = decoded(obj, "token") if obj else ""
        return token if token not in ("", "not-a-token") else ""

    token = await wait_for(reissued, "a broken token is replaced")
    assert token != first
    assert await works(server, home, token)
    # A good token is left alone: the controller's own update did not change it again.
    again = await secret(server, home, "fixme-token")
    assert again is not None
    assert decoded(again, "token") == token


async def test_other_secrets_are_left_alone(
    server: CorralServer, home: Path, controller: None
) -> None:
    await ok(
        server, home, "create", "secret", "generic", "plain", "-n", NAMESPACE, "--from-literal=a=b"
    )
    await ok(server, home, "create", "serviceaccount", "marker", "-n", NAMESPACE)
    await ok(
        server, home, "apply", "-f", "-", stdin=SECRET.format(name="marker-token", account="marker")
    )
    await filled(server, home, "marker-token")  # the controller has seen everything before it
    obj = await secret(server, home, "plain")
    assert obj is not None
    assert obj["data"] == {"a": base64.b64encode(b"b").decode()}
