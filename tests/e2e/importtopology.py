"""The topology of the import end-to-end test: management, downstream, agent, users.

- `start_management`: a management ``corral server`` on ports chosen up front
  (so ``--server-url`` is its real address and a restart keeps it), with a
  short ``--cluster-agent-timeout``;
- `AgentProcess`: ``corral agent`` as a process, started from the
  ``agentCommand`` the Cluster's status shows (plus ``--kubeconfig`` of the
  downstream), its output in a file, stopped or killed on demand;
- `user_kubeconfig`: the kubeconfig a Corral user gets from
  ``generateKubeconfig``, written to a file for the real kubectl.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from kubectlproc import KUBECTL, kubectl_env
from serverproc import CorralServer, corral_argv, start_server

API = "/apis/management.corral.io/v1"
LOGIN = "/v3-public/localProviders/local?action=login"
PASSWORD = "correct-horse-battery"


def start_management(data_dir: Path, https_port: int, http_port: int, *extra: str) -> CorralServer:
    """A management server on the given ports; ready when ``/readyz`` answers 200."""
    url = f"https://127.0.0.1:{https_port}"
    return start_server(data_dir, ["--server-url", url, *extra], ports=(https_port, http_port))


@dataclass
class AgentProcess:
    """``corral agent`` run from a Cluster's ``agentCommand``."""

    command: str
    kubeconfig: Path
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = field(default=0)

    @property
    def argv(self) -> list[str]:
        words = shlex.split(self.command)
        assert words[:2] == ["corral", "agent"], self.command
        return corral_argv(*words[1:], "--kubeconfig", str(self.kubeconfig))

    def start(self, argv: list[str] | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
        env["CORRAL_AGENT_BACKOFF_SCALE"] = "0.05"  # reconnect within a fraction of a second
        self.starts += 1
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(argv or self.argv, stdout=log, stderr=log, env=env)

    def run_to_end(self, argv: list[str], timeout: float = 60.0) -> tuple[int, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
        return done.returncode, done.stderr

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(20)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def make_user(admin: httpx.Client, name: str, *, may_create_clusters: bool) -> None:
    made = admin.post(
        "/v3/users", json={"username": name, "password": PASSWORD, "mustChangePassword": False}
    )
    assert made.status_code == 201, made.text
    if not may_create_clusters:
        return
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    role = {
        "metadata": {"name": f"{name}-creates-clusters"},
        "rules": [
            {
                "apiGroups": ["management.corral.io"],
                "resources": ["clusters"],
                "verbs": ["create", "get", "list", "watch"],
            }
        ],
    }
    assert admin.post(f"{rbac}/clusterroles", json=role).is_success
    binding = {
        "metadata": {"name": f"{name}-creates-clusters"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": f"{name}-creates-clusters",
        },
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name}],
    }
    assert admin.post(f"{rbac}/clusterrolebindings", json=binding).is_success


def login(server: CorralServer, name: str) -> str:
    with server.client() as anonymous:
        answer = anonymous.post(LOGIN, json={"username": name, "password": PASSWORD})
        assert answer.status_code == 201, answer.text
        token: str = answer.json()["token"]
        return token


def user_kubeconfig(server: CorralServer, token: str, cluster: str, path: Path) -> Path:
    """The kubeconfig ``generateKubeconfig`` gives the user of ``token`` for ``cluster``."""
    with server.client(token) as http:
        answer = http.post(f"/v3/clusters/{cluster}?action=generateKubeconfig", json={})
        assert answer.status_code == 200, answer.text
        path.write_text(answer.json()["config"])
    return path


def with_token(kubeconfig: Path, token: str, path: Path) -> Path:
    """``kubeconfig`` with every user's token replaced by ``token``."""
    doc: dict[str, Any] = yaml.safe_load(kubeconfig.read_text())
    for user in doc["users"]:
        user["user"] = {"token": token}
    path.write_text(yaml.safe_dump(doc))
    return path


def kubectl(
    kubeconfig: Path, home: Path, *args: str, stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        env=kubectl_env(home),
        input=stdin or None,
        timeout=timeout,
    )


def cluster(server: CorralServer, name: str) -> dict[str, Any]:
    with server.client(server.token) as http:
        answer = http.get(f"{API}/clusters/{name}")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == type_:
            found: dict[str, Any] = item
            return found
    return {}
