"""Identity across restarts, and the bootstrap password on a terminal, with real servers."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path

import httpx

from serverproc import corral_argv, free_port, start_server, stop_server

LOGIN = "/v3-public/localProviders/local?action=login"


def test_restart_keeps_users_tokens_and_records_last_use(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data, env={"CORRAL_BOOTSTRAP_PASSWORD": "first-bootstrap-pw"})
    try:
        with server.client() as http:
            login = http.post(LOGIN, json={"username": "admin", "password": "first-bootstrap-pw"})
            assert login.status_code == 201
            token = login.json()["token"]
        with server.client(token) as http:
            # Authenticated (so its use is recorded), refused until the password changes.
            assert http.get("/v3/tokens").status_code == 403
    finally:
        assert stop_server(server) == 0  # flushes lastUsedAt

    # Restarted with another bootstrap password: admin exists, nothing changes.
    server = start_server(data, env={"CORRAL_BOOTSTRAP_PASSWORD": "second-bootstrap-pw"})
    try:
        assert (data / "bootstrap-password").read_text().strip() == "first-bootstrap-pw"
        with server.client(token) as http:
            assert http.get("/api/v1/namespaces").status_code == 403  # still valid, still bound
        with server.client() as http:
            second = http.post(LOGIN, json={"username": "admin", "password": "second-bootstrap-pw"})
            assert second.status_code == 401
        with server.client(server.token) as http:
            name = token.split(":")[0]
            stored = http.get(f"/apis/management.corral.io/v1/tokens/{name}").json()
            assert stored["userId"] == "admin"
            assert stored["lastUsedAt"].endswith("Z")
            users = http.get("/apis/management.corral.io/v1/users").json()["items"]
            assert [u["metadata"]["name"] for u in users] == ["admin"]
    finally:
        assert stop_server(server) == 0


def test_bootstrap_password_printed_once_to_a_terminal(tmp_path: Path) -> None:
    data = tmp_path / "data"
    https_port, http_port = free_port(), free_port()
    argv = corral_argv(
        "server", "--data-dir", str(data), "--bind-address", "127.0.0.1",
        "--https-port", str(https_port), "--http-port", str(http_port),
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    env["CORRAL_CONTROLLERS"] = "-*"
    controller, terminal = pty.openpty()
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(argv, stdout=terminal, stderr=log, env=env)
    os.close(terminal)
    seen = b""
    try:
        deadline = time.monotonic() + 30
        while b"first login" not in seen or not seen.endswith(b"\n"):
            assert time.monotonic() < deadline, seen.decode(errors="replace")
            ready, _, _ = select.select([controller], [], [], 0.5)
            if ready:
                seen += os.read(controller, 4096)
        assert httpx.get(f"http://127.0.0.1:{http_port}/readyz", timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        os.close(controller)
        log.close()
    password = (data / "bootstrap-password").read_text().strip()
    assert f"first login: user admin, password {password}" in seen.decode()
    assert password not in (tmp_path / "server.log").read_text()


def test_no_management_means_no_local_users(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", ["--no-management"])
    try:
        assert not (server.data_dir / "bootstrap-password").exists()
        with server.client() as http:
            assert http.post(LOGIN, json={"username": "admin", "password": "x"}).status_code == 404
        with server.client(server.token) as http:
            assert http.get("/apis/management.corral.io/v1/users").status_code == 404
            assert http.get("/api/v1/namespaces").status_code == 200
    finally:
        assert stop_server(server) == 0
