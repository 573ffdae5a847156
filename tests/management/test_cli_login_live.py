"""``corral login``/``logout``/``user`` against a real server, as a user runs them."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from kubectlproc import KUBECTL, kubectl_env
from serverproc import CorralServer, corral_argv, module_server

BOOTSTRAP = "bootstrap-pass-123"
ADMIN_PASSWORD = "admin-password-for-tests"
LOGIN = "/v3-public/localProviders/local?action=login"

server = module_server("identity-cli", env={"CORRAL_BOOTSTRAP_PASSWORD": BOOTSTRAP})


def corral(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    env["XDG_CONFIG_HOME"] = str(home / "config")
    return subprocess.run(
        corral_argv(*args), input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


@pytest.fixture(scope="module")
def admin_ready(server: CorralServer) -> None:
    with server.client() as http:
        token = http.post(LOGIN, json={"username": "admin", "password": BOOTSTRAP}).json()["token"]
    with server.client(token) as http:
        changed = http.post(
            "/v3/users?action=changepassword",
            json={"currentPassword": BOOTSTRAP, "newPassword": ADMIN_PASSWORD},
        )
        assert changed.status_code == 200


def checksum(server: CorralServer) -> str:
    with server.client() as http:
        return hashlib.sha256(http.get("/cacerts").content).hexdigest()


def test_login_needs_trust_in_the_ca(
    server: CorralServer, admin_ready: None, tmp_path: Path
) -> None:
    untrusted = corral(
        tmp_path, "login", server.https_url, "-u", "admin", "--password-stdin", stdin=ADMIN_PASSWORD
    )
    assert untrusted.returncode == 1
    assert f"checksum is {checksum(server)}" in untrusted.stderr
    wrong = corral(
        tmp_path,
        "login",
        server.https_url,
        "-u",
        "admin",
        "--password-stdin",
        "--ca-checksum",
        "0" * 64,
        stdin=ADMIN_PASSWORD,
    )
    assert wrong.returncode == 1
    assert "not the one given" in wrong.stderr
    with_file = corral(
        tmp_path,
        "login",
        server.https_url,
        "-u",
        "admin",
        "--password-stdin",
        "--ca-file",
        str(server.ca_path),
        stdin="not-the-password\n",
    )
    assert with_file.returncode == 1
    assert "invalid username or password" in with_file.stderr
    assert "not-the-password" not in with_file.stderr


def test_login_kubeconfig_user_admin_and_logout(
    server: CorralServer, admin_ready: None, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "alice.kubeconfig"
    login = [server.https_url, "--password-stdin", "--ca-checksum", checksum(server)]
    admin = corral(tmp_path, "login", *login, "-u", "admin", stdin=ADMIN_PASSWORD + "\n")
    assert admin.returncode == 0, admin.stderr
    store = tmp_path / "config" / "corral" / "logins.json"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.parent.stat().st_mode) == 0o700
    assert ADMIN_PASSWORD not in store.read_text()

    made = corral(
        tmp_path, "user", "create", "alice", "--password-stdin", "--no-must-change-password",
        stdin="alice-password-123\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "user/alice created" in made.stdout

    alice_home = tmp_path / "alice"
    alice = corral(
        alice_home, "login", *login, "-u", "alice", "--kubeconfig", str(kubeconfig),
        stdin="alice-password-123\n",
    )  # fmt: skip
    assert alice.returncode == 0, alice.stderr
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    whoami = subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), "auth", "whoami", "-o", "json"],
        capture_output=True,
        text=True,
        env=kubectl_env(tmp_path),
        timeout=60,
    )
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["status"]["userInfo"]["username"] == "alice"
    with server.client(server.token) as http:
        tokens = http.get("/apis/management.corral.io/v1/tokens").json()["items"]
        kinds = sorted(t["tokenKind"] for t in tokens if t["userId"] == "alice")
        assert kinds == ["kubeconfig", "session"]

    session = json.loads((alice_home / "config" / "corral" / "logins.json").read_text())
    alice_token = session["servers"][server.https_url]["token"]
    out = corral(alice_home, "logout")
    assert out.returncode == 0, out.stderr
    with server.client(alice_token) as http:
        assert http.get("/api/v1/namespaces").status_code == 401
    assert corral(alice_home, "logout").returncode == 1

    disabled = corral(tmp_path, "user", "disable", "alice")
    assert disabled.returncode == 0, disabled.stderr

    def refused() -> str:
        result = subprocess.run(
            [KUBECTL, "--kubeconfig", str(kubeconfig), "get", "namespaces"],
            capture_output=True,
            text=True,
            env=kubectl_env(tmp_path),
            timeout=60,
        )
        return result.stderr

    assert "You must be logged in to the server" in refused()


def test_forced_change_refused_without_a_terminal(
    server: CorralServer, admin_ready: None, tmp_path: Path
) -> None:
    with server.client() as http:
        token = http.post(LOGIN, json={"username": "admin", "password": ADMIN_PASSWORD}).json()[
            "token"
        ]
    with server.client(token) as http:
        made = http.post("/v3/users", json={"username": "newbie", "password": "initial-pass-12"})
        assert made.status_code == 201
    login = corral(
        tmp_path, "login", server.https_url, "-u", "newbie", "--password-stdin",
        "--ca-file", str(server.ca_path), stdin="initial-pass-12\n",
    )  # fmt: skip
    assert login.returncode == 1
    assert "must change the initial password" in login.stderr
    with server.client(server.token) as http:
        tokens = http.get("/apis/management.corral.io/v1/tokens").json()["items"]
        assert [t for t in tokens if t["userId"] == "newbie"] == []
