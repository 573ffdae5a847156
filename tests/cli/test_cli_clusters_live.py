"""``corral cluster`` and ``corral kubeconfig`` against a real server, as a user runs them."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from serverproc import CorralServer, corral_argv, module_server

BOOTSTRAP = "bootstrap-pass-123"
ADMIN_PASSWORD = "admin-password-for-tests"
SERVER_URL = "https://corral.example.test:9443"
LOGIN = "/v3-public/localProviders/local?action=login"

server = module_server(
    "clusters-cli",
    ("--server-url", SERVER_URL),
    env={"CORRAL_BOOTSTRAP_PASSWORD": BOOTSTRAP},
)


def corral(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    env["XDG_CONFIG_HOME"] = str(home / "config")
    return subprocess.run(
        corral_argv(*args), input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


@pytest.fixture(scope="module")
def home(server: CorralServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    with server.client() as http:
        token = http.post(LOGIN, json={"username": "admin", "password": BOOTSTRAP}).json()["token"]
    with server.client(token) as http:
        changed = http.post(
            "/v3/users?action=changepassword",
            json={"currentPassword": BOOTSTRAP, "newPassword": ADMIN_PASSWORD},
        )
        assert changed.status_code == 200
    home = tmp_path_factory.mktemp("clusters-cli-home")
    login = corral(
        home,
        "login",
        server.https_url,
        "-u",
        "admin",
        "--password-stdin",
        "--ca-file",
        str(server.ca_path),
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert login.returncode == 0, login.stderr
    return home


def test_create_list_kubeconfig_delete(server: CorralServer, home: Path) -> None:
    made = corral(home, "cluster", "create", "prod", "--description", "the shop")
    assert made.returncode == 0, made.stderr
    lines = made.stdout.splitlines()
    cluster_id = lines[0]
    assert cluster_id.startswith("c-")
    assert len(cluster_id) == 7
    checksum = hashlib.sha256(server.ca_path.read_bytes()).hexdigest()
    apply_line = next(line.strip() for line in lines if "kubectl apply" in line)
    agent_line = next(line.strip() for line in lines if "corral agent" in line)
    assert apply_line.startswith(f"kubectl apply -f {SERVER_URL}/v3/import/")
    assert apply_line.endswith(f"_{cluster_id}.yaml")
    assert agent_line.startswith(f"corral agent --server {SERVER_URL} --token ")
    assert agent_line.endswith(f"--ca-checksum {checksum}")

    again = corral(home, "cluster", "create", "prod")
    assert again.returncode == 1
    assert "Duplicate value" in again.stderr
    assert "spec.displayName" in again.stderr

    listed = corral(home, "cluster", "list")
    assert listed.returncode == 0, listed.stderr
    table = [line.split() for line in listed.stdout.splitlines()]
    assert table[0] == ["ID", "NAME", "STATE", "VERSION", "NODES"]
    assert [cluster_id, "prod", "pending"] in [row[:3] for row in table]
    assert ["local", "local", "active"] in [row[:3] for row in table]

    printed = corral(home, "kubeconfig", "prod", "local")
    assert printed.returncode == 0, printed.stderr
    doc = yaml.safe_load(printed.stdout)
    assert [c["name"] for c in doc["contexts"]] == ["prod", "local"]
    assert doc["clusters"][0]["cluster"]["server"] == f"{SERVER_URL}/k8s/clusters/{cluster_id}"
    assert doc["users"][0]["name"] == "admin"
    written = home / "prod.kubeconfig"
    to_file = corral(home, "kubeconfig", cluster_id, "-o", str(written))
    assert to_file.returncode == 0, to_file.stderr
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert yaml.safe_load(written.read_text())["current-context"] == "prod"
    unknown = corral(home, "kubeconfig", "nowhere")
    assert unknown.returncode == 1
    assert "nowhere" in unknown.stderr

    deleted = corral(home, "cluster", "delete", "prod")
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.strip() == f"cluster/{cluster_id} deleted"
    missing = corral(home, "cluster", "delete", "prod")
    assert missing.returncode == 1
    assert "no cluster has the id or name 'prod'" in missing.stderr


def test_commands_need_a_login(tmp_path: Path) -> None:
    done = corral(tmp_path, "cluster", "list")
    assert done.returncode == 1
    assert "not logged in" in done.stderr
