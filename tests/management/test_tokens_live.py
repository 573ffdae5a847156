"""Corral tokens against a real server: kubectl with a token, and WebSocket origins."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from corral.machinery.sessions import SESSION_COOKIE
from kubectlproc import KUBECTL, kubectl_env
from serverproc import CorralServer, module_server

server = module_server("identity-tokens")

LOGIN = "/v3-public/localProviders/local?action=login"
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def alice(server: CorralServer) -> str:
    with server.client(server.token) as http:
        made = http.post(
            "/v3/users",
            json={"username": "alice", "password": PASSWORD, "mustChangePassword": False},
        )
        assert made.status_code == 201, made.text
        bound = http.post(
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            json={
                "metadata": {"name": "alice-view"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "view",
                },
                "subjects": [
                    {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}
                ],
            },
        )
        assert bound.status_code == 201, bound.text
    return "alice"


@pytest.fixture
def session_cookie(server: CorralServer, alice: str) -> Iterator[str]:
    with server.client() as http:
        login = http.post(
            LOGIN, json={"username": alice, "password": PASSWORD, "responseType": "cookie"}
        )
        assert login.status_code == 200, login.text
        yield f"{SESSION_COOKIE}={login.cookies[SESSION_COOKIE]}"


def test_kubectl_with_a_corral_token(server: CorralServer, alice: str, tmp_path: Path) -> None:
    with server.client() as http:
        token = http.post(LOGIN, json={"username": alice, "password": PASSWORD}).json()["token"]
    argv = [
        KUBECTL,
        "--server",
        server.https_url,
        "--certificate-authority",
        str(server.ca_path),
        "--token",
        token,
    ]
    env = kubectl_env(tmp_path)
    whoami = subprocess.run(
        [*argv, "auth", "whoami", "-o", "json"], capture_output=True, text=True, env=env, timeout=60
    )
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["status"]["userInfo"]["username"] == "alice"
    listed = subprocess.run(
        [*argv, "get", "namespaces", "-o", "name"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert "namespace/default" in listed.stdout.split()
    with server.client(token) as http:
        assert http.post("/v3/tokens?action=logout").status_code == 200
    refused = subprocess.run(
        [*argv, "get", "namespaces"], capture_output=True, text=True, env=env, timeout=60
    )
    assert refused.returncode != 0
    assert "Unauthorized" in refused.stderr or "credentials" in refused.stderr


def _watch(server: CorralServer, cookie: str, origin: str) -> None:
    url = server.https_url.replace("https://", "wss://", 1) + "/api/v1/namespaces?watch=true"
    with connect(
        url,
        ssl=server.ssl_context(),
        additional_headers={"Cookie": cookie},
        origin=Origin(origin),
        open_timeout=10,
    ) as ws:
        first = json.loads(ws.recv(timeout=10))
        assert first["type"] == "ADDED"


def test_cross_origin_websocket_with_session_cookie_refused(
    server: CorralServer, session_cookie: str
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        _watch(server, session_cookie, "https://evil.example")
    assert refused.value.response.status_code == 403
    assert b"own origin" in refused.value.response.body
    _watch(server, session_cookie, server.https_url)


def test_bearer_websocket_needs_no_origin(server: CorralServer, alice: str) -> None:
    with server.client() as http:
        token = http.post(LOGIN, json={"username": alice, "password": PASSWORD}).json()["token"]
    url = server.https_url.replace("https://", "wss://", 1) + "/api/v1/namespaces?watch=true"
    with connect(
        url,
        ssl=server.ssl_context(),
        additional_headers={"Authorization": f"Bearer {token}"},
        origin=Origin("https://elsewhere.example"),
        open_timeout=10,
    ) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "ADDED"


def test_secrets_never_in_the_log(server: CorralServer, alice: str) -> None:
    with httpx.Client(base_url=server.https_url, verify=server.ssl_context()) as http:
        token = http.post(LOGIN, json={"username": alice, "password": PASSWORD}).json()["token"]
    log = server.stderr()
    assert PASSWORD not in log
    assert token.split(":")[1] not in log
